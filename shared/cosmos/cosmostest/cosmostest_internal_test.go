package cosmostest

import (
	"testing"
	"time"
)

// TestServerExitsWithParent: when the test process goes (its end of the
// server's stdin closes) the server exits by itself, so a test killed
// past its cleanups leaves no server behind.
func TestServerExitsWithParent(t *testing.T) {
	s, err := start(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.stop() })
	if err := s.stdin.Close(); err != nil {
		t.Fatal(err)
	}
	select {
	case <-s.exited:
	case <-time.After(10 * time.Second):
		t.Fatal("server still running 10s after its stdin closed")
	}
}
