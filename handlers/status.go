package handlers

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"mime"
	"net/http"
	"strconv"
	"strings"

	"github.com/galsync/galsync/shared/funcproto"
	"github.com/galsync/galsync/shared/logctx"
	"github.com/galsync/galsync/shared/status"
)

// StatusReporter builds the status report (*status.Reporter).
type StatusReporter interface {
	Report(ctx context.Context) status.Report
}

// statusPage is the status function: GET /api/status answers the report
// as JSON, or as the HTML page when the request asks for text/html (a
// browser's Accept header) or ?format=html; ?format=json forces JSON. It
// reveals operational data, so its function.json has authLevel
// "function": under the Functions host it needs a function key (?code= or
// x-functions-key), which never appears in the answer.
//
// A report that could not read everything is still answered 200, with
// what failed in its errors: the page matters most when something is
// broken. The report's errors are logged here, once.
func statusPage(d Deps) http.Handler {
	refuse := func(code int, msg string) answer {
		return statusAnswer(code, "text/plain; charset=utf-8", []byte(msg+"\n"), nil, fmt.Sprintf("%d: %s", code, msg))
	}
	return serveHTTP(d, FuncStatus, maxInvocationBytes, refuse, func(ctx context.Context, req funcproto.HTTPRequest, _ string) (answer, error) {
		if req.Method != "" && !strings.EqualFold(req.Method, http.MethodGet) {
			return statusAnswer(http.StatusMethodNotAllowed, "text/plain; charset=utf-8", []byte("status answers GET only\n"),
				map[string]string{"Allow": http.MethodGet}, "405: "+req.Method), nil
		}
		asHTML, err := wantsHTML(req)
		if err != nil {
			return refuse(http.StatusBadRequest, err.Error()), nil
		}
		if d.Status == nil {
			return statusAnswer(http.StatusServiceUnavailable, "text/plain; charset=utf-8",
				[]byte("status is not configured in this deployment\n"), nil, "503: no status reporter"), nil
		}
		rep := d.Status.Report(ctx)
		if errs := allErrors(rep); len(errs) > 0 {
			logctx.From(ctx).WarnContext(ctx, "status: some reads failed", "errors", errs)
		}
		var body bytes.Buffer
		contentType, format := "application/json; charset=utf-8", "json"
		if asHTML {
			contentType, format = "text/html; charset=utf-8", "html"
			err = status.WriteHTML(&body, rep)
		} else {
			enc := json.NewEncoder(&body)
			enc.SetIndent("", "  ")
			err = enc.Encode(rep)
		}
		if err != nil {
			return answer{}, fmt.Errorf("write status: %w", err)
		}
		return statusAnswer(http.StatusOK, contentType, body.Bytes(), nil, fmt.Sprintf("200: status of %d direction(s) as %s (%d ok, %d paused, %d with warnings)",
			rep.Summary.Directions, format, rep.Summary.OK, rep.Summary.Paused, rep.Summary.Warning)), nil
	})
}

// statusHeaders keep the answer out of caches (it is live, and the URL
// may carry a function key) and, for the page, forbid anything it does
// not carry inline: it has no script and fetches nothing.
var statusHeaders = map[string]string{
	"Cache-Control":           "no-store",
	"X-Content-Type-Options":  "nosniff",
	"Referrer-Policy":         "no-referrer",
	"Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; img-src data:; frame-ancestors 'none'; base-uri 'none'; form-action 'none'",
}

// statusAnswer is an http output with statusHeaders, and extra.
func statusAnswer(code int, contentType string, body []byte, extra map[string]string, logLine string) answer {
	headers := maps.Clone(statusHeaders)
	maps.Copy(headers, extra)
	return httpAnswer(code, contentType, body, headers, logLine)
}

// wantsHTML decides the format: ?format= first, else the Accept header,
// where text/html must be asked for (a browser does) and rank at least as
// high as application/json. Anything else, */* included, gets JSON.
func wantsHTML(req funcproto.HTTPRequest) (bool, error) {
	format, _ := req.QueryValue("format")
	switch f := strings.ToLower(format); f {
	case "html":
		return true, nil
	case "json":
		return false, nil
	case "":
	default:
		return false, fmt.Errorf("format %q: want html or json", f)
	}
	htmlQ, jsonQ := -1.0, -1.0
	for _, part := range strings.Split(req.Header("Accept"), ",") {
		mt, params, err := mime.ParseMediaType(strings.TrimSpace(part))
		if err != nil {
			continue
		}
		q := 1.0
		if v, ok := params["q"]; ok {
			if q, err = strconv.ParseFloat(v, 64); err != nil {
				continue
			}
		}
		switch mt {
		case "text/html", "application/xhtml+xml":
			htmlQ = max(htmlQ, q)
		case "application/json":
			jsonQ = max(jsonQ, q)
		}
	}
	return htmlQ > 0 && htmlQ >= jsonQ, nil
}

// allErrors lists a report's errors once each, with their direction.
func allErrors(r status.Report) []string {
	out := append([]string{}, r.Errors...)
	shared := map[string]bool{}
	for _, e := range r.Errors {
		shared[e] = true
	}
	for _, d := range r.Directions {
		for _, e := range d.Errors {
			if !shared[e] {
				out = append(out, d.Name+": "+e)
			}
		}
	}
	return out
}
