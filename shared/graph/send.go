package graph

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"

	abs "github.com/microsoft/kiota-abstractions-go"

	"github.com/galsync/galsync/shared/galsync"
	"github.com/galsync/galsync/shared/pace"
)

// maxBody caps what is read of one answer; a delta page of 1,000 users
// with a dozen properties is well under 2 MB.
const maxBody = 64 << 20

// reply is an HTTP answer as read off the wire.
type reply struct {
	status int
	header http.Header
	body   []byte
}

// send sends ri through the SDK's adapter (token, middleware) and returns
// the raw answer, or the Graph error it carries as a classified *Error.
func (tc *tenantClient) send(ctx context.Context, op string, ri *abs.RequestInformation) (reply, error) {
	var rep reply
	handler := abs.NewRequestHandlerOption()
	handler.SetResponseHandler(func(resp any, _ abs.ErrorMappings) (any, error) {
		r, ok := resp.(*http.Response)
		if !ok || r == nil {
			return nil, errors.New("no HTTP response")
		}
		defer r.Body.Close()
		body, err := io.ReadAll(io.LimitReader(r.Body, maxBody))
		rep = reply{status: r.StatusCode, header: r.Header, body: body}
		return nil, err
	})
	ri.AddRequestOptions([]abs.RequestOption{handler})
	tc.expandURI(ri)
	if err := tc.adapter.SendNoContent(ctx, ri, nil); err != nil {
		var we *pace.WaitError
		if errors.As(err, &we) {
			// The tenant's budget is spoken for: put the work off rather
			// than hold a worker that could serve another tenant.
			return rep, galsync.Defer(fmt.Errorf("graph: %s in tenant %s: %w", op, tc.name, we), we.RetryAfter())
		}
		return rep, fmt.Errorf("graph: %s in tenant %s: %w", op, tc.name, withoutURL(err))
	}
	if rep.status < 200 || rep.status > 299 {
		return rep, classify(newError(op, tc.name, rep))
	}
	return rep, nil
}

// expandURI expands ri's URL template once, here: the adapter would expand
// it twice per request (for the token's host check and for the request),
// and expanding is a good part of what sending costs. A template that does
// not expand is left to the adapter, which reports why.
func (tc *tenantClient) expandURI(ri *abs.RequestInformation) {
	if ri.PathParameters == nil {
		return
	}
	if _, ok := ri.PathParameters["baseurl"]; !ok {
		ri.PathParameters["baseurl"] = tc.base // as the adapter sets it
	}
	if u, err := ri.GetUri(); err == nil {
		ri.SetUri(*u)
	}
}

// sendJSON is send with a JSON body marshalled here, so exactly the given
// properties go out (kiota models would add or drop some).
func (tc *tenantClient) sendJSON(ctx context.Context, op string, ri *abs.RequestInformation, body any) (reply, error) {
	b, err := json.Marshal(body)
	if err != nil {
		return reply{}, fmt.Errorf("graph: %s in tenant %s: encode body: %w", op, tc.name, err)
	}
	ri.SetStreamContentAndContentType(b, "application/json")
	return tc.send(ctx, op, ri)
}

// decode unmarshals a successful answer.
func (tc *tenantClient) decode(op string, rep reply, v any) error {
	if err := json.Unmarshal(rep.body, v); err != nil {
		return fmt.Errorf("graph: %s in tenant %s: decode answer: %w", op, tc.name, err)
	}
	return nil
}

// withoutURL drops the request URL net/http puts in its errors: a path or a
// $filter can hold a mail address. The cause stays wrapped.
func withoutURL(err error) error {
	var ue *url.Error
	if !errors.As(err, &ue) {
		return err
	}
	host := "?"
	if u, perr := url.Parse(ue.URL); perr == nil {
		host = u.Host
	}
	return fmt.Errorf("%s %s: %w", ue.Op, host, ue.Err)
}
