package funchost

import (
	"errors"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/galsync/galsync/shared/funcproto"
)

// maxRequestBytes bounds a forwarded request body (the host's limit is
// 100 MB; galsync's HTTP functions take small JSON).
const maxRequestBytes = 10 << 20

// httpFunction is an httpTrigger function with its parsed route.
type httpFunction struct {
	fn    Function
	route route
}

// HTTPHandler serves /api/<route> for the httpTrigger functions, in
// envelope mode: it posts the request to the handler and turns the http
// output binding back into the response. Unknown routes answer 404, a
// method the function does not list 405, and a failed invocation 500, as
// the host does. Keys are not checked (neither does Core Tools locally).
func (h *Host) HTTPHandler() http.Handler {
	var fns []httpFunction
	for _, fn := range h.Functions {
		if fn.Disabled || !strings.EqualFold(fn.Trigger.Type, TypeHTTPTrigger) {
			continue
		}
		r, err := parseRoute(routeOf(fn))
		if err != nil {
			h.logger().Error("skipping http function", "function", fn.Name, "err", err)
			continue
		}
		fns = append(fns, httpFunction{fn, r})
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rest, ok := strings.CutPrefix(r.URL.EscapedPath(), "/api/")
		if !ok {
			http.NotFound(w, r)
			return
		}
		hf, params, status := matchRoute(fns, rest, r.Method)
		if status != http.StatusOK {
			http.Error(w, http.StatusText(status), status)
			return
		}
		h.forward(w, r, hf.fn, params)
	})
}

// matchRoute finds the function for a path and method: 404 when no route
// matches, 405 when routes match but none takes the method.
func matchRoute(fns []httpFunction, path, method string) (httpFunction, map[string]string, int) {
	status := http.StatusNotFound
	for _, hf := range fns {
		params, ok := hf.route.match(path)
		if !ok {
			continue
		}
		if !allows(hf.fn.Trigger.Methods, method) {
			status = http.StatusMethodNotAllowed
			continue
		}
		return hf, params, http.StatusOK
	}
	return httpFunction{}, nil, status
}

// allows reports whether a method is listed; no list allows every method.
func allows(methods []string, method string) bool {
	return len(methods) == 0 || slices.ContainsFunc(methods, func(m string) bool { return strings.EqualFold(m, method) })
}

func (h *Host) forward(w http.ResponseWriter, r *http.Request, fn Function, params map[string]string) {
	started := h.now()
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxRequestBytes))
	if err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			http.Error(w, "request body too large", http.StatusRequestEntityTooLarge)
			return
		}
		http.Error(w, "read request body", http.StatusBadRequest)
		return
	}
	ctx, cancel := h.invocationContext(r.Context())
	defer cancel()
	var o outcome
	payload, err := funcproto.EncodeHTTP(fn.Trigger.Name, r, body, params, funcproto.NewSys(fn.Name, started))
	if err != nil {
		o = outcome{id: funcproto.NewGUID()}.failed(err)
	} else {
		o = h.invoke(ctx, fn, payload)
	}
	log := h.logger().With("function", fn.Name, "invocation", o.id)
	logHandler(log, o)
	var out funcproto.HTTPOutput
	if o.err == nil {
		out, err = httpOutput(fn, o.resp)
		if err != nil {
			o = o.failed(err)
		}
	}
	h.record(fn, o, started)
	if o.err != nil {
		log.Warn("http invocation failed", "status", o.status, "err", o.lastError)
		w.WriteHeader(http.StatusInternalServerError)
		return
	}
	for k, v := range out.Headers {
		w.Header().Set(k, v)
	}
	w.Header().Set("Content-Length", strconv.Itoa(len(out.Body)))
	w.WriteHeader(out.StatusCode)
	_, _ = io.WriteString(w, out.Body)
}

// httpOutput reads the value of the function's http output binding, from
// ReturnValue when the binding is named $return.
func httpOutput(fn Function, resp funcproto.Response) (funcproto.HTTPOutput, error) {
	b, _ := fn.HTTPOutput()
	if b.Name == "$return" {
		return resp.ReturnHTTPOutput()
	}
	return resp.HTTPOutput(b.Name)
}
