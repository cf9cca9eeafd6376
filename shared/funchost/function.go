// Package funchost is galsync's local Functions host: it reads the
// function.json files the Azure Functions host deploys, fires timers, pulls
// queue messages and forwards HTTP requests, and POSTs every invocation to
// the custom handler encoded exactly as the real host does (package
// funcproto). It is what `galsync local` and the end-to-end tests run.
package funchost

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"strings"
)

// Binding types the local host understands.
const (
	TypeServiceBusTrigger = "serviceBusTrigger"
	TypeTimerTrigger      = "timerTrigger"
	TypeHTTPTrigger       = "httpTrigger"
	TypeHTTP              = "http"
)

// Function is one function folder: its name is the folder's name, which is
// also the path the handler serves it on.
type Function struct {
	Name string
	// Path is the function.json the function came from, for messages.
	Path     string
	Disabled bool
	Trigger  Binding
	// Outputs are the output bindings (the local host supports http).
	Outputs []Binding
}

// Binding is one entry of function.json's "bindings".
type Binding struct {
	Type      string `json:"type"`
	Direction string `json:"direction"`
	Name      string `json:"name"`
	DataType  string `json:"dataType"`
	// serviceBusTrigger
	QueueName  string `json:"queueName"`
	TopicName  string `json:"topicName"`
	Connection string `json:"connection"`
	// timerTrigger: a six-field NCRONTAB expression.
	Schedule     string `json:"schedule"`
	RunOnStartup bool   `json:"runOnStartup"`
	// httpTrigger
	Route     string   `json:"route"`
	Methods   []string `json:"methods"`
	AuthLevel string   `json:"authLevel"`
}

// HTTPOutput returns the function's http output binding.
func (f Function) HTTPOutput() (Binding, bool) {
	for _, b := range f.Outputs {
		if strings.EqualFold(b.Type, TypeHTTP) {
			return b, true
		}
	}
	return Binding{}, false
}

// Load reads <name>/function.json for every folder of fsys (folders without
// one are skipped) and validates them; the errors of every file are
// reported together, each naming its file.
func Load(fsys fs.FS) ([]Function, error) {
	entries, err := fs.ReadDir(fsys, ".")
	if err != nil {
		return nil, fmt.Errorf("funchost: list function folders: %w", err)
	}
	var fns []Function
	var errs []error
	for _, e := range entries {
		if !e.IsDir() {
			continue
		}
		p := path.Join(e.Name(), "function.json")
		b, err := fs.ReadFile(fsys, p)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("funchost: %s: %w", p, err))
			continue
		}
		fn, err := parseFunction(e.Name(), p, b)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		fns = append(fns, fn)
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	if len(fns) == 0 {
		return nil, errors.New("funchost: no <function>/function.json found")
	}
	return fns, nil
}

func parseFunction(name, file string, b []byte) (Function, error) {
	var doc struct {
		Disabled bool      `json:"disabled"`
		Bindings []Binding `json:"bindings"`
	}
	if err := json.Unmarshal(b, &doc); err != nil {
		return Function{}, fmt.Errorf("funchost: %s: not valid JSON: %w", file, err)
	}
	fn := Function{Name: name, Path: file, Disabled: doc.Disabled}
	var triggers []Binding
	for _, bd := range doc.Bindings {
		if strings.HasSuffix(strings.ToLower(bd.Type), "trigger") {
			triggers = append(triggers, bd)
			continue
		}
		fn.Outputs = append(fn.Outputs, bd)
	}
	if len(triggers) != 1 {
		return Function{}, fmt.Errorf("funchost: %s: want exactly one trigger binding, found %d", file, len(triggers))
	}
	fn.Trigger = triggers[0]
	if err := validate(fn); err != nil {
		return Function{}, fmt.Errorf("funchost: %s: %w", file, err)
	}
	return fn, nil
}
