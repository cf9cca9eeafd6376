// Package sbtest starts the repo's local Service Bus test broker
// (shared/servicebus/testbroker, Node.js on rhea) for tests that drive the
// real azservicebus client over the wire. It installs the broker's npm
// dependencies on first use, starts one broker per call and stops it when
// the test ends. Node.js and npm must be on PATH; without them the test
// fails, it is not skipped.
package sbtest

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/galsync/galsync/shared/npminstall"
	"github.com/galsync/galsync/shared/queue"
)

// Broker describes a broker to start.
type Broker struct {
	// Queues are created with Options; each has a dead-letter subqueue.
	Queues  []string
	Options queue.Options
	// MaxMessageSize bounds a message or batch in bytes; 0 means 256 KiB,
	// Service Bus Standard's limit.
	MaxMessageSize int
}

// Start starts a broker serving queues, each with opts (zero fields take
// queue.DefaultOptions), and returns a development-emulator connection
// string for it. The broker stops at the test's cleanup.
func Start(t testing.TB, queues []string, opts queue.Options) (connectionString string) {
	t.Helper()
	return StartBroker(t, Broker{Queues: queues, Options: opts})
}

// StartBroker is Start with every setting.
func StartBroker(t testing.TB, b Broker) (connectionString string) {
	t.Helper()
	port, err := start(t, b)
	if err != nil {
		t.Fatalf("sbtest: %v", err)
	}
	return ConnectionString(port)
}

// ConnectionString is the development-emulator connection string for a
// broker on 127.0.0.1:port. The key is a placeholder: the broker accepts
// any token.
func ConnectionString(port int) string {
	return fmt.Sprintf("Endpoint=sb://127.0.0.1:%d;SharedAccessKeyName=sbtest;SharedAccessKey=sbtest-placeholder-key;UseDevelopmentEmulator=true", port)
}

const (
	readyTimeout = 30 * time.Second
	stopTimeout  = 5 * time.Second
)

func start(t testing.TB, b Broker) (int, error) {
	if len(b.Queues) == 0 {
		return 0, errors.New("no queues to serve")
	}
	node, err := exec.LookPath("node")
	if err != nil {
		return 0, errors.New("node is not on PATH: the Service Bus test broker runs on Node.js (install nodejs and npm)")
	}
	dir, err := brokerDir()
	if err != nil {
		return 0, err
	}
	if err := install(dir); err != nil {
		return 0, err
	}
	cmd := exec.Command(node, append([]string{"broker.js"}, args(b)...)...)
	cmd.Dir = dir
	stderr := &lockedBuffer{}
	cmd.Stderr = stderr
	stdin, err := cmd.StdinPipe() // the broker exits when this closes
	if err != nil {
		return 0, err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return 0, err
	}
	if err := cmd.Start(); err != nil {
		return 0, fmt.Errorf("start broker: %w", err)
	}
	exited := make(chan error, 1)
	ready := make(chan int, 1)
	go func() {
		if port, ok := readPort(stdout); ok {
			ready <- port
		}
		_, _ = io.Copy(io.Discard, stdout)
		exited <- cmd.Wait()
	}()
	t.Cleanup(func() {
		_ = stdin.Close()
		select {
		case <-exited:
		case <-time.After(stopTimeout):
			_ = cmd.Process.Kill()
			<-exited
		}
		if out := stderr.String(); t.Failed() && out != "" {
			t.Logf("sbtest: broker stderr:\n%s", out)
		}
	})
	select {
	case port := <-ready:
		return port, nil
	case err := <-exited:
		return 0, fmt.Errorf("broker exited before it was ready (%v): %s", err, strings.TrimSpace(stderr.String()))
	case <-time.After(readyTimeout):
		return 0, fmt.Errorf("broker not ready after %s: %s", readyTimeout, strings.TrimSpace(stderr.String()))
	}
}

func args(b Broker) []string {
	o := b.Options
	def := queue.DefaultOptions()
	if o.LockDuration <= 0 {
		o.LockDuration = def.LockDuration
	}
	if o.MaxDeliveryCount <= 0 {
		o.MaxDeliveryCount = def.MaxDeliveryCount
	}
	if o.DuplicateDetectionWindow <= 0 {
		o.DuplicateDetectionWindow = def.DuplicateDetectionWindow
	}
	a := []string{
		"--queues", strings.Join(b.Queues, ","),
		"--lock-duration-ms", strconv.FormatInt(max(o.LockDuration.Milliseconds(), 1), 10),
		"--max-delivery-count", strconv.Itoa(o.MaxDeliveryCount),
		"--duplicate-window-ms", strconv.FormatInt(o.DuplicateDetectionWindow.Milliseconds(), 10),
		"--port", "0",
	}
	if b.MaxMessageSize > 0 {
		a = append(a, "--max-message-size", strconv.Itoa(b.MaxMessageSize))
	}
	return a
}

// readPort reads the broker's first line, {"port": N}.
func readPort(r io.Reader) (int, bool) {
	line, err := bufio.NewReader(r).ReadBytes('\n')
	if err != nil {
		return 0, false
	}
	var ready struct {
		Port int `json:"port"`
	}
	if json.Unmarshal(line, &ready) != nil || ready.Port == 0 {
		return 0, false
	}
	return ready.Port, true
}

// brokerDir finds testbroker/ beside this package's source, wherever the
// test calling Start runs.
func brokerDir() (string, error) {
	_, file, _, ok := runtime.Caller(0)
	if !ok {
		return "", errors.New("cannot locate the sbtest source")
	}
	dir := filepath.Join(filepath.Dir(file), "..", "testbroker")
	if _, err := os.Stat(filepath.Join(dir, "broker.js")); err != nil {
		return "", fmt.Errorf("test broker not found: %w", err)
	}
	return dir, nil
}

// spec is the broker folder's install (see npminstall).
func spec(dir string) npminstall.Spec {
	return npminstall.Spec{Dir: dir, Inputs: []string{"package.json", "package-lock.json"},
		Probe: filepath.Join("node_modules", "rhea", "package.json"), What: "the Service Bus test broker"}
}

// install installs the broker's npm dependencies unless an install of the
// current package-lock.json is there, once per test process.
func install(dir string) error { return npminstall.Ensure(context.Background(), spec(dir)) }

func installed(modules string) bool {
	_, err := os.Stat(filepath.Join(modules, "rhea", "package.json"))
	return err == nil
}

// lockedBuffer collects the broker's stderr, written by exec's copier and
// read by the test.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}
