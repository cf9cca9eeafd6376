package servicebus_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/galsync/galsync/shared/galsync"
	"github.com/galsync/galsync/shared/queue"
	"github.com/galsync/galsync/shared/servicebus"
	"github.com/galsync/galsync/shared/servicebus/sbtest"
)

// secretKey is a shared access key that must never appear in an error or
// in the printed form of a config.
const secretKey = "Zm9vYmFyLXRoaXMtaXMtdGhlLWtleQ+/="

func checkNoSecret(t *testing.T, what string, err error) {
	t.Helper()
	if err == nil {
		t.Errorf("%s: no error; the test expected one to inspect", what)
		return
	}
	if strings.Contains(err.Error(), secretKey) || strings.Contains(fmt.Sprintf("%+v", err), secretKey) {
		t.Errorf("%s: the error shows the shared access key: %v", what, err)
	}
}

func TestNoSecretInConfigErrors(t *testing.T) {
	key := ";SharedAccessKeyName=root;SharedAccessKey=" + secretKey
	for name, connStr := range map[string]string{
		"no endpoint":       key[1:],
		"entity path":       "Endpoint=sb://galsync.servicebus.windows.net/" + key + ";EntityPath=invites",
		"emulator over tls": "Endpoint=https://127.0.0.1:1" + key + ";UseDevelopmentEmulator=true",
		"bad emulator flag": "Endpoint=sb://127.0.0.1:1" + key + ";UseDevelopmentEmulator=" + secretKey,
		"key without name":  "Endpoint=sb://galsync.servicebus.windows.net/;SharedAccessKey=" + secretKey,
		"bare key":          "Endpoint=sb://galsync.servicebus.windows.net/;" + secretKey,
		"bad endpoint":      "Endpoint=" + secretKey + key,
	} {
		_, err := servicebus.ConfigFromEnv(env(map[string]string{"GALSYNC_SERVICEBUS": connStr}))
		checkNoSecret(t, "ConfigFromEnv, "+name, err)
		_, err = servicebus.Open(t.Context(), servicebus.Config{ConnectionString: connStr})
		checkNoSecret(t, "Open, "+name, err)
	}
	_, err := servicebus.ConfigFromEnv(env(map[string]string{
		"GALSYNC_SERVICEBUS":                          "Endpoint=sb://galsync.servicebus.windows.net/" + key,
		"GALSYNC_SERVICEBUS__fullyQualifiedNamespace": "galsync.servicebus.windows.net",
	}))
	checkNoSecret(t, "ConfigFromEnv, both set", err)
}

func TestNoSecretWhenConfigIsPrinted(t *testing.T) {
	cfg, err := servicebus.ConfigFromEnv(env(map[string]string{
		"GALSYNC_SERVICEBUS": "Endpoint=sb://galsync.servicebus.windows.net/;SharedAccessKeyName=root;SharedAccessKey=" + secretKey,
	}))
	must(t, err)
	var logged bytes.Buffer
	slog.New(slog.NewJSONHandler(&logged, nil)).Info("queue", "config", cfg)
	printed := fmt.Sprintf("%v %+v %#v %s", cfg, cfg, cfg, cfg) + logged.String()
	if strings.Contains(printed, secretKey) || strings.Contains(printed, "SharedAccessKey") {
		t.Errorf("printing the config shows the connection string:\n%s", printed)
	}
	if !strings.Contains(printed, "galsync.servicebus.windows.net") {
		t.Errorf("printing the config does not say where it points:\n%s", printed)
	}
}

// TestNoSecretInOperationErrors drives failing operations over the wire
// with a connection string that carries the key.
func TestNoSecretInOperationErrors(t *testing.T) {
	t.Parallel()
	cs := sbtest.Start(t, []string{galsync.QueueInvites}, queue.DefaultOptions())
	cs = strings.Replace(cs, "SharedAccessKey=sbtest-placeholder-key", "SharedAccessKey="+secretKey, 1)
	if !strings.Contains(cs, secretKey) {
		t.Fatalf("connection string %q does not carry the test key", cs)
	}
	c, err := servicebus.Open(t.Context(), servicebus.Config{ConnectionString: cs})
	must(t, err)
	t.Cleanup(func() { _ = c.Close() })
	ctx := t.Context()
	const nope = "no-such-queue"
	_, recvErr := c.Receive(ctx, nope, 1, 0)
	_, peekErr := c.Peek(ctx, queue.DeadLetterQueue(nope), 0, 1)
	stale := queue.Delivery{Message: queue.Message{ID: "x"}, Queue: galsync.QueueInvites, LockToken: "00000000-0000-0000-0000-000000000001"}
	_, renewErr := c.RenewLock(ctx, stale)
	for what, err := range map[string]error{
		"send":       c.Send(ctx, nope, queue.Message{ID: "x"}),
		"receive":    recvErr,
		"peek":       peekErr,
		"complete":   c.Complete(ctx, stale),
		"renew lock": renewErr,
	} {
		checkNoSecret(t, what, err)
	}

	// A namespace nobody listens on: the dial fails.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	must(t, err)
	port := l.Addr().(*net.TCPAddr).Port
	must(t, l.Close())
	down := strings.Replace(sbtest.ConnectionString(port), "sbtest-placeholder-key", secretKey, 1)
	c2, err := servicebus.Open(ctx, servicebus.Config{ConnectionString: down})
	must(t, err)
	t.Cleanup(func() { _ = c2.Close() })
	dialCtx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	checkNoSecret(t, "send to a namespace that is down", c2.Send(dialCtx, galsync.QueueInvites, queue.Message{ID: "x"}))
}

func TestScrubRedactsAndKeepsTheErrorKind(t *testing.T) {
	leaky := fmt.Errorf("dial sb://x with key %s: %w", secretKey, queue.ErrUnknownQueue)
	err := servicebus.Scrub(leaky, []string{secretKey})
	if strings.Contains(err.Error(), secretKey) || !strings.Contains(err.Error(), "<redacted>") {
		t.Errorf("scrubbed error %q", err)
	}
	if !errors.Is(err, queue.ErrUnknownQueue) {
		t.Errorf("scrubbing lost the error kind: %v", err)
	}
	if errors.Unwrap(err) != nil {
		t.Errorf("a scrubbed error unwraps to its secret-bearing original")
	}
	clean := errors.New("nothing to hide")
	if servicebus.Scrub(clean, []string{secretKey}) != clean {
		t.Errorf("an error without the secret was rewrapped")
	}
}
