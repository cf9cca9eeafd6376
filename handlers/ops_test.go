package handlers

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/galsync/galsync/shared/embedded"
	"github.com/galsync/galsync/shared/funcproto"
	"github.com/galsync/galsync/shared/galsync"
	"github.com/galsync/galsync/shared/pipeline"
)

// invokeOps posts a host-encoded HTTP-trigger invocation to one of the
// operations functions and returns its http output.
func invokeOps(t *testing.T, h http.Handler, function, method, target string, body []byte) funcproto.HTTPOutput {
	t.Helper()
	r := httptest.NewRequest(method, "https://galsync.example/api/"+target, bytes.NewReader(body))
	r.ContentLength = int64(len(body))
	if len(body) > 0 {
		r.Header.Set("Content-Type", "application/json")
	}
	payload, err := funcproto.EncodeHTTP("req", r, body, nil, funcproto.NewSys(function, time.Now()))
	if err != nil {
		t.Fatal(err)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/"+function, bytes.NewReader(payload)))
	if rec.Code != http.StatusOK {
		t.Fatalf("%s answered the host %d: %s", function, rec.Code, rec.Body.String())
	}
	resp, err := funcproto.DecodeResponse(rec.Body.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	out, err := resp.HTTPOutput("res")
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestLogEndpoint(t *testing.T) {
	db, err := embedded.Open(filepath.Join(t.TempDir(), "galsync.db"), embedded.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	now := time.Now()
	if err := db.AppendLog(context.Background(),
		galsync.LogEntry{Time: now.Add(-2 * time.Hour), Direction: "a-to-b", SourceUserID: "u1", Action: galsync.ActionInvite, Outcome: galsync.OutcomeSuccess},
		galsync.LogEntry{Time: now.Add(-time.Hour), Direction: "a-to-b", SourceUserID: "u1", Action: galsync.ActionUpdate, Outcome: galsync.OutcomeSuccess, Attributes: []string{"jobTitle"}},
		galsync.LogEntry{Time: now.Add(-time.Hour), Direction: "a-to-b", SourceUserID: "u2", Action: galsync.ActionSkip, Outcome: galsync.OutcomeSkipped, Reason: "no mail"},
	); err != nil {
		t.Fatal(err)
	}
	h := New(Deps{Directions: pipeline.Catalog{"a-to-b": nil}, Log: db, Now: time.Now, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})

	out := invokeOps(t, h, FuncLog, http.MethodGet, "log?direction=a-to-b&user=u1&since=90m", nil)
	var got struct{ Entries []galsync.LogEntry }
	if err := json.Unmarshal([]byte(out.Body), &got); err != nil || out.StatusCode != http.StatusOK {
		t.Fatalf("answer %d %q: %v", out.StatusCode, out.Body, err)
	}
	if len(got.Entries) != 1 || got.Entries[0].Action != galsync.ActionUpdate || got.Entries[0].Attributes[0] != "jobTitle" {
		t.Errorf("entries = %+v, want u1's update of the last 90 minutes", got.Entries)
	}
	// Days, as galsync dlq --older-than takes them.
	out = invokeOps(t, h, FuncLog, http.MethodGet, "log?direction=a-to-b&since=7d", nil)
	if err := json.Unmarshal([]byte(out.Body), &got); err != nil || out.StatusCode != http.StatusOK || len(got.Entries) != 3 {
		t.Errorf("since=7d: %d %q, %v; want the 3 entries", out.StatusCode, out.Body, err)
	}
	if !strings.HasPrefix(out.Headers["Content-Type"], "application/json") {
		t.Errorf("content type %q", out.Headers["Content-Type"])
	}
	for _, bad := range []string{"log?direction=nowhere", "log?since=yesterday", "log?limit=0"} {
		if out := invokeOps(t, h, FuncLog, http.MethodGet, bad, nil); out.StatusCode != http.StatusBadRequest || !strings.Contains(out.Body, "error") {
			t.Errorf("%s: %d %s, want 400 with an error", bad, out.StatusCode, out.Body)
		}
	}
}

func TestProvisionEndpointRefusesBadRequests(t *testing.T) {
	h := New(Deps{Directions: pipeline.Catalog{"a-to-b": nil}, Provisioner: &pipeline.Provisioner{}, Now: time.Now,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	for _, body := range []string{``, `{`, `{"direction":"a-to-b"}`, `{"user":"u1"}`, `{"direction":"a-to-b","user":"u1","extra":1}`,
		`{"direction":"nowhere","user":"u1"}`} {
		out := invokeOps(t, h, FuncProvision, http.MethodPost, "provision", []byte(body))
		if out.StatusCode != http.StatusBadRequest || !strings.Contains(out.Body, "error") {
			t.Errorf("body %q: %d %s, want 400 saying what to send", body, out.StatusCode, out.Body)
		}
	}
}
