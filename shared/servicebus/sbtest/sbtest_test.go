package sbtest

import (
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// TestConcurrentInstallsAgree: test processes that find the broker's
// dependencies missing at once all end with one complete node_modules.
func TestConcurrentInstallsAgree(t *testing.T) {
	src, err := brokerDir()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	for _, f := range []string{"package.json", "package-lock.json"} {
		data, err := os.ReadFile(filepath.Join(src, f))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, f), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	const n = 3
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() { errs[i] = install(dir) })
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("install %d: %v", i, err)
		}
	}
	if !installed(filepath.Join(dir, "node_modules")) {
		t.Errorf("rhea is not installed in %s", dir)
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), ".install-") {
			t.Errorf("install left %s behind", e.Name())
		}
	}
}

func TestMissingNodeIsAClearFailure(t *testing.T) {
	t.Setenv("PATH", t.TempDir())
	_, err := start(t, Broker{Queues: []string{"q"}})
	if err == nil || !strings.Contains(err.Error(), "node is not on PATH") {
		t.Fatalf("start without node: %v, want an error saying node is missing", err)
	}
}

func TestBrokerArguments(t *testing.T) {
	got := strings.Join(args(Broker{Queues: []string{"a", "b"}, MaxMessageSize: 1024}), " ")
	want := "--queues a,b --lock-duration-ms 30000 --max-delivery-count 10 --duplicate-window-ms 600000 --port 0 --max-message-size 1024"
	if got != want {
		t.Errorf("arguments for defaults:\n got %s\nwant %s", got, want)
	}
}
