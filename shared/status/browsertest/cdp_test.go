package browsertest

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"
)

// browser is headless Chromium driven over the DevTools protocol on a
// pipe: Chromium reads NUL-terminated JSON commands on its fd 3 and
// writes NUL-terminated answers and events on its fd 4.
type browser struct {
	t        *testing.T
	cmd      *exec.Cmd
	toChrome io.WriteCloser
	msgs     chan cdpMessage
	stderr   *lockedBuffer
	nextID   int
	// events seen while waiting for something else.
	events []cdpMessage
	// session is the page target's session id.
	session string
}

type cdpMessage struct {
	ID        int             `json:"id,omitempty"`
	Method    string          `json:"method,omitempty"`
	Params    json.RawMessage `json:"params,omitempty"`
	Result    json.RawMessage `json:"result,omitempty"`
	Error     *cdpError       `json:"error,omitempty"`
	SessionID string          `json:"sessionId,omitempty"`
}

type cdpError struct {
	Code    int    `json:"code"`
	Message string `json:"message"`
}

type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// cdpTimeout bounds one command or wait.
const cdpTimeout = 20 * time.Second

// chromiumFlags are the probe's flags for this machine's closed network
// (without the background-networking ones Chromium keeps dialling
// Google), plus what a container wants.
var chromiumFlags = []string{
	"--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
	"--disable-background-networking", "--disable-component-update", "--disable-sync",
	"--disable-dev-shm-usage", "--disable-extensions", "--no-default-browser-check",
	"--hide-scrollbars", "--mute-audio", "--remote-debugging-pipe",
}

// startBrowser starts Chromium with a fresh profile and opens one page.
func startBrowser(t *testing.T, bin string) *browser {
	t.Helper()
	// Commands go down one pipe, answers come up the other.
	cmdR, cmdW, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	outR, outW, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	b := &browser{t: t, toChrome: cmdW, msgs: make(chan cdpMessage, 256), stderr: &lockedBuffer{}}
	args := append(append([]string{}, chromiumFlags...), "--user-data-dir="+t.TempDir(), "about:blank")
	b.cmd = exec.Command(bin, args...)
	b.cmd.ExtraFiles = []*os.File{cmdR, outW} // fd 3, fd 4
	b.cmd.Stdout, b.cmd.Stderr = b.stderr, b.stderr
	if err := b.cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", bin, err)
	}
	cmdR.Close()
	outW.Close()
	exited := make(chan struct{})
	go func() {
		_ = b.cmd.Wait()
		close(exited)
	}()
	t.Cleanup(func() {
		_ = b.send("Browser.close", nil, "")
		select {
		case <-exited:
		case <-time.After(5 * time.Second):
			_ = b.cmd.Process.Kill()
			<-exited
		}
		cmdW.Close()
	})
	go b.read(outR)

	var target struct {
		TargetID string `json:"targetId"`
	}
	b.call("Target.createTarget", map[string]any{"url": "about:blank"}, &target)
	var attached struct {
		SessionID string `json:"sessionId"`
	}
	b.call("Target.attachToTarget", map[string]any{"targetId": target.TargetID, "flatten": true}, &attached)
	b.session = attached.SessionID
	b.call("Page.enable", nil, nil)
	return b
}

func (b *browser) read(r io.ReadCloser) {
	defer r.Close()
	defer close(b.msgs)
	br := bufio.NewReader(r)
	for {
		raw, err := br.ReadBytes(0)
		if err != nil {
			return
		}
		var m cdpMessage
		if json.Unmarshal(raw[:len(raw)-1], &m) == nil {
			b.msgs <- m
		}
	}
}

func (b *browser) send(method string, params any, session string) error {
	b.nextID++
	msg := map[string]any{"id": b.nextID, "method": method}
	if params != nil {
		msg["params"] = params
	}
	if session != "" {
		msg["sessionId"] = session
	}
	raw, err := json.Marshal(msg)
	if err != nil {
		return err
	}
	_, err = b.toChrome.Write(append(raw, 0))
	return err
}

// call sends a command (to the page's session once there is one) and
// decodes its result into out.
func (b *browser) call(method string, params, out any) {
	b.t.Helper()
	if err := b.send(method, params, b.session); err != nil {
		b.t.Fatalf("cdp %s: %v\nchromium said:\n%s", method, err, b.stderr)
	}
	id := b.nextID
	m := b.next(func(m cdpMessage) bool { return m.ID == id }, method)
	if m.Error != nil {
		b.t.Fatalf("cdp %s: %d %s", method, m.Error.Code, m.Error.Message)
	}
	if out != nil {
		if err := json.Unmarshal(m.Result, out); err != nil {
			b.t.Fatalf("cdp %s: %v: %s", method, err, m.Result)
		}
	}
}

// waitEvent waits for an event of the page's session.
func (b *browser) waitEvent(method string) {
	b.t.Helper()
	match := func(m cdpMessage) bool { return m.Method == method && m.SessionID == b.session }
	for i, m := range b.events {
		if match(m) {
			b.events = append(b.events[:i], b.events[i+1:]...)
			return
		}
	}
	b.next(match, method)
}

func (b *browser) next(match func(cdpMessage) bool, what string) cdpMessage {
	b.t.Helper()
	deadline := time.After(cdpTimeout)
	for {
		select {
		case m, ok := <-b.msgs:
			if !ok {
				b.t.Fatalf("cdp %s: chromium closed the pipe\nchromium said:\n%s", what, b.stderr)
			}
			if match(m) {
				return m
			}
			if m.Method != "" {
				b.events = append(b.events, m)
			}
		case <-deadline:
			b.t.Fatalf("cdp %s: no answer in %s\nchromium said:\n%s", what, cdpTimeout, b.stderr)
		}
	}
}

// viewport sets the page's size in CSS pixels.
func (b *browser) viewport(width, height int, mobile bool) {
	b.t.Helper()
	b.call("Emulation.setDeviceMetricsOverride", map[string]any{
		"width": width, "height": height, "deviceScaleFactor": 1, "mobile": mobile}, nil)
}

// navigate opens url and waits for its load event.
func (b *browser) navigate(url string) {
	b.t.Helper()
	var nav struct {
		ErrorText string `json:"errorText"`
	}
	b.call("Page.navigate", map[string]any{"url": url}, &nav)
	if nav.ErrorText != "" {
		b.t.Fatalf("navigate %s: %s", url, nav.ErrorText)
	}
	b.waitEvent("Page.loadEventFired")
}

// eval evaluates a JavaScript expression in the page and decodes its
// (JSON-serialisable) value into out.
func (b *browser) eval(expr string, out any) {
	b.t.Helper()
	var res struct {
		Result struct {
			Value json.RawMessage `json:"value"`
		} `json:"result"`
		ExceptionDetails *struct {
			Text      string `json:"text"`
			Exception struct {
				Description string `json:"description"`
			} `json:"exception"`
		} `json:"exceptionDetails"`
	}
	b.call("Runtime.evaluate", map[string]any{"expression": expr, "returnByValue": true}, &res)
	if e := res.ExceptionDetails; e != nil {
		b.t.Fatalf("eval: %s %s", e.Text, e.Exception.Description)
	}
	if err := json.Unmarshal(res.Result.Value, out); err != nil {
		b.t.Fatalf("eval: %v: %s", err, res.Result.Value)
	}
}

// screenshot captures the whole page, at the given width, as PNG.
func (b *browser) screenshot(width int, mobile bool) []byte {
	b.t.Helper()
	var metrics struct {
		CSSContentSize struct {
			Height float64 `json:"height"`
		} `json:"cssContentSize"`
	}
	b.call("Page.getLayoutMetrics", nil, &metrics)
	b.viewport(width, int(metrics.CSSContentSize.Height+0.999), mobile)
	var shot struct {
		Data string `json:"data"`
	}
	b.call("Page.captureScreenshot", map[string]any{"format": "png", "captureBeyondViewport": true}, &shot)
	png, err := base64.StdEncoding.DecodeString(shot.Data)
	if err != nil || !bytes.HasPrefix(png, []byte("\x89PNG")) {
		b.t.Fatalf("screenshot is not a PNG (%v)", err)
	}
	return png
}

// version is the browser's product string.
func (b *browser) version() string {
	b.t.Helper()
	var v struct {
		Product string `json:"product"`
	}
	session := b.session
	b.session = ""
	b.call("Browser.getVersion", nil, &v)
	b.session = session
	return v.Product
}

// chromiumBinary finds the browser or fails, saying how to install it.
func chromiumBinary(t *testing.T) string {
	t.Helper()
	bin := os.Getenv("GALSYNC_CHROMIUM")
	if bin == "" {
		bin = "/usr/bin/chromium"
	}
	path, err := exec.LookPath(bin)
	if err != nil {
		if errors.Is(err, exec.ErrNotFound) || errors.Is(err, os.ErrNotExist) {
			err = errors.New("not installed")
		}
		t.Fatalf("the status page test needs headless Chromium, and %s is %v.\n"+
			"Install Debian's chromium with scripts/install-chromium.sh (as root, or with sudo; ~1 min),\n"+
			"or set GALSYNC_CHROMIUM to a Chromium binary.", bin, err)
	}
	if out, err := exec.Command(path, "--version").Output(); err != nil || !strings.Contains(string(out), "Chromium") && !strings.Contains(string(out), "Chrome") {
		t.Fatalf("%s --version: %v %q: not a working Chromium; reinstall with scripts/install-chromium.sh", path, err, out)
	}
	return path
}
