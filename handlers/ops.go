package handlers

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"strings"

	"github.com/galsync/galsync/shared/funcproto"
	"github.com/galsync/galsync/shared/galsync"
)

// The operations endpoints, for administrators (authLevel function: a
// function key is needed under the Functions host):
//
//	POST /api/provision  {"direction":"d","user":"<object id or UPN>"}
//	     → the on-demand report, each step with its outcome (200), or 400
//	GET  /api/log?direction=d&user=<object id>&action=a&since=<RFC 3339 or 24h>&limit=n
//	     → provisioning log entries, oldest first (200), or 400

// LogReader reads the provisioning log.
type LogReader interface {
	QueryLog(ctx context.Context, q galsync.LogQuery) ([]galsync.LogEntry, error)
}

// maxOpsInvocationBytes bounds an operations request.
const maxOpsInvocationBytes = 64 << 10

type provisionRequest struct {
	Direction string `json:"direction"`
	User      string `json:"user"`
}

func provision(d Deps) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		req, inv, ok := httpInvocation(w, r, d, FuncProvision)
		if !ok {
			return
		}
		if d.Provisioner == nil {
			jsonAnswer(w, http.StatusServiceUnavailable, map[string]string{"error": "provisioning on demand is not configured"})
			return
		}
		var body provisionRequest
		dec := json.NewDecoder(strings.NewReader(string(req.Body)))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&body); err != nil || body.Direction == "" || body.User == "" {
			jsonAnswer(w, http.StatusBadRequest, map[string]string{
				"error": `send {"direction":"<direction name>","user":"<source object id or user principal name>"}`})
			return
		}
		if _, ok := d.Directions[body.Direction]; !ok {
			jsonAnswer(w, http.StatusBadRequest, map[string]string{"error": "direction " + strconv.Quote(body.Direction) + " is not configured"})
			return
		}
		rep, err := d.Provisioner.Provision(r.Context(), body.Direction, body.User, inv)
		if err != nil {
			fail(w, d.Logger, FuncProvision, inv, err)
			return
		}
		jsonAnswer(w, http.StatusOK, rep)
	})
}

func provisioningLog(d Deps) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		req, inv, ok := httpInvocation(w, r, d, FuncLog)
		if !ok {
			return
		}
		if d.Log == nil {
			jsonAnswer(w, http.StatusServiceUnavailable, map[string]string{"error": "the provisioning log is not configured"})
			return
		}
		param := func(name string) string { v, _ := req.QueryValue(name); return v }
		q := galsync.LogQuery{Direction: param("direction"), SourceUserID: param("user"), Action: param("action"), Limit: 200}
		if q.Direction != "" {
			if _, ok := d.Directions[q.Direction]; !ok {
				jsonAnswer(w, http.StatusBadRequest, map[string]string{"error": "direction " + strconv.Quote(q.Direction) + " is not configured"})
				return
			}
		}
		if s := param("since"); s != "" {
			since, err := galsync.ParseSince(s, d.Now())
			if err != nil {
				jsonAnswer(w, http.StatusBadRequest, map[string]string{"error": "since: " + err.Error()})
				return
			}
			q.Since = since
		}
		if s := param("limit"); s != "" {
			n, err := strconv.Atoi(s)
			if err != nil || n < 1 || n > 10000 {
				jsonAnswer(w, http.StatusBadRequest, map[string]string{"error": "limit must be a number from 1 to 10000"})
				return
			}
			q.Limit = n
		}
		entries, err := d.Log.QueryLog(r.Context(), q)
		if err != nil {
			fail(w, d.Logger, FuncLog, inv, err)
			return
		}
		if entries == nil {
			entries = []galsync.LogEntry{}
		}
		jsonAnswer(w, http.StatusOK, map[string]any{"entries": entries})
	})
}

// httpInvocation decodes an HTTP-trigger invocation; on failure it has
// answered already.
func httpInvocation(w http.ResponseWriter, r *http.Request, d Deps, function string) (funcproto.HTTPRequest, string, bool) {
	inv, err := funcproto.Decode(r, maxOpsInvocationBytes)
	if errors.Is(err, funcproto.ErrBodyTooLarge) {
		jsonAnswer(w, http.StatusRequestEntityTooLarge, map[string]string{"error": "request too large"})
		return funcproto.HTTPRequest{}, "", false
	}
	if err != nil {
		fail(w, d.Logger, function, r.Header.Get(funcproto.HeaderInvocationID), galsync.Permanent(err))
		return funcproto.HTTPRequest{}, "", false
	}
	req, err := inv.HTTP("req")
	if err != nil {
		fail(w, d.Logger, function, inv.InvocationID, galsync.Permanent(err))
		return funcproto.HTTPRequest{}, "", false
	}
	return req, inv.InvocationID, true
}

// jsonAnswer completes the invocation with a JSON http output.
func jsonAnswer(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		status, b = http.StatusInternalServerError, []byte(`{"error":"could not encode the answer"}`)
	}
	out := funcproto.HTTPOutput{StatusCode: status, Body: string(b), Headers: map[string]string{"Content-Type": "application/json; charset=utf-8"}}
	funcproto.WriteResponse(w, http.StatusOK, funcproto.Response{Outputs: map[string]any{httpOutput: out}, Logs: []string{strconv.Itoa(status)}})
}
