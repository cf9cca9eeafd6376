package cosmos_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"

	"github.com/galsync/galsync/shared/config"
	"github.com/galsync/galsync/shared/cosmos"
)

// TestKeyNeverShown: the account key appears in no error, no formatted or
// marshalled Config, no log line and nothing sent over the wire (key auth
// signs requests; it does not send the key).
func TestKeyNeverShown(t *testing.T) {
	var mu sync.Mutex
	var wire bytes.Buffer
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		mu.Lock()
		_ = r.Header.Write(&wire)
		fmt.Fprintf(&wire, "%s %s\n%s\n", r.Method, r.URL, body)
		mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusUnauthorized)
		_, _ = io.WriteString(w, `{"code":"Unauthorized","message":"The input authorization token can't serve the request."}`)
	}))
	defer srv.Close()

	cfg, err := cosmos.ConfigFromEnv(env{config.CosmosConnection: "AccountEndpoint=" + srv.URL + "/;AccountKey=" + key + ";"}.get)
	if err != nil {
		t.Fatal(err)
	}
	var logs bytes.Buffer
	logger := slog.New(slog.NewJSONHandler(&logs, nil))
	logger.Info("config", "cosmos", cfg)
	slog.New(slog.NewTextHandler(&logs, nil)).Info("config", "cosmos", cfg)
	marshalled, err := json.Marshal(cfg)
	if err != nil {
		t.Fatal(err)
	}
	shown := map[string]string{
		"%v":   fmt.Sprintf("%v", cfg),
		"%+v":  fmt.Sprintf("%+v", cfg),
		"%#v":  fmt.Sprintf("%#v", cfg),
		"key":  fmt.Sprintf("%s|%q|%v|%x", cfg.AccountKey, cfg.AccountKey, cfg.AccountKey, cfg.AccountKey),
		"json": string(marshalled),
		"slog": logs.String(),
	}

	_, err = cosmos.Open(t.Context(), cfg, cosmos.Options{Retry: policy.RetryOptions{MaxRetries: -1}})
	if err == nil || !strings.Contains(err.Error(), "401") {
		t.Fatalf("open against a server refusing the key: %v; want the 401 reported", err)
	}
	shown["open error"] = err.Error()

	bad := cfg
	bad.AccountKey = key + "!!" // not base64
	if _, err := cosmos.Open(t.Context(), bad, cosmos.Options{}); err == nil {
		t.Fatal("open with a key that is not base64 succeeded")
	} else {
		shown["bad key error"] = err.Error()
	}
	mu.Lock()
	shown["wire"] = wire.String()
	mu.Unlock()
	if !strings.Contains(shown["wire"], "Authorization") {
		t.Fatalf("the server saw no signed request:\n%s", shown["wire"])
	}
	for where, text := range shown {
		if strings.Contains(text, key) {
			t.Errorf("%s shows the account key: %s", where, text)
		}
	}
}
