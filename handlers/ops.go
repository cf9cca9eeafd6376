package handlers

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"strconv"

	"github.com/galsync/galsync/shared/funcproto"
	"github.com/galsync/galsync/shared/galsync"
)

// The operations endpoints, for administrators (authLevel function: a
// function key is needed under the Functions host):
//
//	POST /api/provision  {"direction":"d","user":"<object id or UPN>"}
//	     → the on-demand report, each step with its outcome (200), or 400
//	GET  /api/log?direction=d&user=<object id>&action=a&since=<RFC 3339 or 24h>&limit=n
//	     → provisioning log entries, oldest first (200), or 400

// LogReader reads the provisioning log.
type LogReader interface {
	QueryLog(ctx context.Context, q galsync.LogQuery) ([]galsync.LogEntry, error)
}

// maxOpsInvocationBytes bounds an operations request.
const maxOpsInvocationBytes = 64 << 10

type provisionRequest struct {
	Direction string `json:"direction"`
	User      string `json:"user"`
}

func provision(d Deps) http.Handler {
	return serveHTTP(d, FuncProvision, maxOpsInvocationBytes, jsonError, func(ctx context.Context, req funcproto.HTTPRequest, inv string) (answer, error) {
		if d.Provisioner == nil {
			return jsonError(http.StatusServiceUnavailable, "provisioning on demand is not configured"), nil
		}
		var body provisionRequest
		dec := json.NewDecoder(bytes.NewReader(req.Body))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&body); err != nil || body.Direction == "" || body.User == "" {
			return jsonError(http.StatusBadRequest, `send {"direction":"<direction name>","user":"<source object id or user principal name>"}`), nil
		}
		if _, ok := d.Directions[body.Direction]; !ok {
			return jsonError(http.StatusBadRequest, "direction "+strconv.Quote(body.Direction)+" is not configured"), nil
		}
		rep, err := d.Provisioner.Provision(ctx, body.Direction, body.User, inv)
		if err != nil {
			return answer{}, err
		}
		return jsonAnswer(http.StatusOK, rep), nil
	})
}

func provisioningLog(d Deps) http.Handler {
	return serveHTTP(d, FuncLog, maxOpsInvocationBytes, jsonError, func(ctx context.Context, req funcproto.HTTPRequest, _ string) (answer, error) {
		if d.Log == nil {
			return jsonError(http.StatusServiceUnavailable, "the provisioning log is not configured"), nil
		}
		param := func(name string) string { v, _ := req.QueryValue(name); return v }
		q := galsync.LogQuery{Direction: param("direction"), SourceUserID: param("user"), Action: param("action"), Limit: 200}
		if q.Direction != "" {
			if _, ok := d.Directions[q.Direction]; !ok {
				return jsonError(http.StatusBadRequest, "direction "+strconv.Quote(q.Direction)+" is not configured"), nil
			}
		}
		if s := param("since"); s != "" {
			since, err := galsync.ParseSince(s, d.Now())
			if err != nil {
				return jsonError(http.StatusBadRequest, "since: "+err.Error()), nil
			}
			q.Since = since
		}
		if s := param("limit"); s != "" {
			n, err := strconv.Atoi(s)
			if err != nil || n < 1 || n > 10000 {
				return jsonError(http.StatusBadRequest, "limit must be a number from 1 to 10000"), nil
			}
			q.Limit = n
		}
		entries, err := d.Log.QueryLog(ctx, q)
		if err != nil {
			return answer{}, err
		}
		if entries == nil {
			entries = []galsync.LogEntry{}
		}
		return jsonAnswer(http.StatusOK, map[string]any{"entries": entries}), nil
	})
}
