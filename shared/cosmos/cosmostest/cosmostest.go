// Package cosmostest starts a local Cosmos DB stand-in for tests: the npm
// package @vercel/cosmosdb-server (pinned and patched in ../testserver),
// over plain http on a free 127.0.0.1 port, which the real azcosmos client
// talks to. The project's EMULATORS.md lists what the stand-in gets wrong
// (no TTL expiry, non-atomic batches, partition keys ignored by queries);
// the galsync adapter relies on none of it.
//
// Start installs the npm packages itself when they are missing, so a fresh
// machine needs only node and npm on PATH. Tests fail, never skip, without
// them: a Cosmos test that silently does not run proves nothing.
package cosmostest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// Key is the account key the stand-in accepts (it checks none); it is the
// Cosmos DB emulator's published well-known key, not a secret.
const Key = "C2y6yDjf5/R+ob0N8A7Cgv30VRDJIWEHLM+4QDU5DE2nQ9nDuVTqobD4b8mGGyPMbIZnqyMsEcaGQy67XIw/Jw=="

// startTimeout bounds how long a server may take to come up (node loads
// a few megabytes of JavaScript; a busy CI machine is slow).
const startTimeout = 60 * time.Second

// Start starts a server of the caller's own, stopped at the test's cleanup,
// and returns its connection string in the form GALSYNC_COSMOS takes:
// "AccountEndpoint=http://127.0.0.1:PORT/;AccountKey=...;". Every call
// gets a separate server, so callers never see each other's data.
func Start(t testing.TB) string {
	t.Helper()
	s, err := start(t.Context())
	if err != nil {
		t.Fatalf("cosmostest: %v", err)
	}
	t.Cleanup(func() {
		if err := s.stop(); err != nil {
			t.Errorf("cosmostest: stop server: %v", err)
		}
		if t.Failed() {
			t.Logf("cosmostest: server output (last lines):\n%s", s.output.tail())
		}
	})
	return ConnectionString(s.endpoint)
}

// ConnectionString is the connection string of a stand-in at endpoint.
func ConnectionString(endpoint string) string {
	return "AccountEndpoint=" + endpoint + ";AccountKey=" + Key + ";"
}

var dbSeq atomic.Int64

// DatabaseName returns a database name no other call in this process
// returns, derived from the test's name, for callers that share one server.
func DatabaseName(t testing.TB) string {
	name := strings.Trim(unsafeName.ReplaceAllString(t.Name(), "-"), "-")
	if len(name) > 40 {
		name = name[len(name)-40:]
	}
	return fmt.Sprintf("t%d-%s", dbSeq.Add(1), name)
}

var unsafeName = regexp.MustCompile(`[^A-Za-z0-9_-]+`)

type server struct {
	cmd      *exec.Cmd
	endpoint string
	output   *ringBuffer
	// stdin stays open while the server should run (exit-with-parent.js).
	stdin   io.WriteCloser
	exited  chan struct{}
	waitErr error
}

var readyLine = regexp.MustCompile(`Ready to accept HTTP connections at (127\.0\.0\.1:\d+)`)

func start(ctx context.Context) (*server, error) {
	dir, err := serverDir()
	if err != nil {
		return nil, err
	}
	node, err := exec.LookPath("node")
	if err != nil {
		return nil, fmt.Errorf("node is not on PATH: the Cosmos DB stand-in needs Node.js 18 or later and npm (Debian: apt-get install nodejs npm)")
	}
	if err := ensureInstalled(ctx, dir); err != nil {
		return nil, err
	}
	// Port 0: the server takes a free port and names it in its ready line.
	// Not exec.CommandContext: the server outlives the call that starts it
	// and stops at the test's cleanup.
	cmd := exec.Command(node, "--require", "./exit-with-parent.js", cliPath(dir), "--no-ssl", "--host", "127.0.0.1", "-p", "0")
	cmd.Dir = dir
	s := &server{cmd: cmd, output: newRingBuffer(64 << 10), exited: make(chan struct{})}
	ready := &readyWatcher{out: s.output, addr: make(chan string, 1)}
	cmd.Stdout, cmd.Stderr = ready, s.output
	if s.stdin, err = cmd.StdinPipe(); err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", cmd, err)
	}
	go func() {
		s.waitErr = cmd.Wait()
		close(s.exited)
	}()

	timer := time.NewTimer(startTimeout)
	defer timer.Stop()
	select {
	case a := <-ready.addr:
		s.endpoint = "http://" + a + "/"
	case <-s.exited:
		return nil, fmt.Errorf("server exited before it was ready (%v):\n%s", s.waitErr, s.output.tail())
	case <-timer.C:
		_ = s.stop()
		return nil, fmt.Errorf("server not ready after %s:\n%s", startTimeout, s.output.tail())
	case <-ctx.Done():
		_ = s.stop()
		return nil, ctx.Err()
	}
	if err := s.waitAnswering(ctx); err != nil {
		_ = s.stop()
		return nil, err
	}
	return s, nil
}

// readyWatcher passes the server's stdout on to out and sends the address
// of its ready line, once.
type readyWatcher struct {
	out  io.Writer
	addr chan string
	mu   sync.Mutex
	seen []byte // stdout until the ready line
	done bool
}

func (w *readyWatcher) Write(p []byte) (int, error) {
	w.mu.Lock()
	if !w.done {
		w.seen = append(w.seen, p...)
		if m := readyLine.FindSubmatch(w.seen); m != nil {
			w.addr <- string(m[1])
			w.done, w.seen = true, nil
		}
	}
	w.mu.Unlock()
	return w.out.Write(p)
}

// waitAnswering polls the account endpoint until it answers 200.
func (s *server) waitAnswering(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, startTimeout)
	defer cancel()
	client := &http.Client{Timeout: 2 * time.Second}
	var last error
	for {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.endpoint, nil)
		if err != nil {
			return err
		}
		resp, err := client.Do(req)
		if err == nil {
			_, _ = io.Copy(io.Discard, resp.Body)
			_ = resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
			err = fmt.Errorf("GET %s: %s", s.endpoint, resp.Status)
		}
		last = err
		select {
		case <-ctx.Done():
			return fmt.Errorf("server at %s does not answer: %v", s.endpoint, last)
		case <-s.exited:
			return fmt.Errorf("server exited (%v):\n%s", s.waitErr, s.output.tail())
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// stop kills the server and waits for it to exit.
func (s *server) stop() error {
	if err := s.cmd.Process.Kill(); err != nil && !errors.Is(err, os.ErrProcessDone) {
		return err
	}
	_ = s.stdin.Close()
	select {
	case <-s.exited:
		return nil
	case <-time.After(10 * time.Second):
		return fmt.Errorf("server pid %d did not exit after kill", s.cmd.Process.Pid)
	}
}

// ringBuffer keeps the last bytes written to it, for failure messages.
type ringBuffer struct {
	mu  sync.Mutex
	max int
	buf []byte
}

func newRingBuffer(max int) *ringBuffer { return &ringBuffer{max: max} }

func (b *ringBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.buf = append(b.buf, p...)
	if over := len(b.buf) - b.max; over > 0 {
		b.buf = append(b.buf[:0], b.buf[over:]...)
	}
	return len(p), nil
}

func (b *ringBuffer) tail() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	const show = 4 << 10
	if len(b.buf) > show {
		return "..." + string(b.buf[len(b.buf)-show:])
	}
	return string(b.buf)
}
