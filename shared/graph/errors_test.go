package graph

import (
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/galsync/galsync/shared/galsync"
)

func TestErrorClassification(t *testing.T) {
	tests := []struct {
		name      string
		status    int
		body      any    // nil: no body; string: raw text
		wantText  string // exact error text
		permanent bool
		kind      error
	}{
		{"404 is not found", 404, graphError("Request_ResourceNotFound", "Resource 'guest-1' does not exist or one of its queried reference-property objects are not present."),
			"graph: update user in tenant fabrikam: 404 Request_ResourceNotFound: Resource 'guest-1' does not exist or one of its queried reference-property objects are not present.", false, galsync.ErrNotFound},
		{"400 is permanent", 400, graphError("Request_BadRequest", "Invalid value specified for property 'mail' of resource 'User'."),
			"graph: update user in tenant fabrikam: 400 Request_BadRequest: Invalid value specified for property 'mail' of resource 'User'.", true, galsync.ErrInvalid},
		{"403 is permanent", 403, graphError("Authorization_RequestDenied", "Insufficient privileges to complete the operation."),
			"graph: update user in tenant fabrikam: 403 Authorization_RequestDenied: Insufficient privileges to complete the operation.", true, nil},
		{"mail addresses are redacted", 400, graphError("Request_BadRequest", "Another object with the same value for property proxyAddresses already exists: SMTP:ada@contoso.com."),
			"graph: update user in tenant fabrikam: 400 Request_BadRequest: Another object with the same value for property proxyAddresses already exists: [redacted]", true, nil},
		{"408 is transient", 408, graphError("RequestTimeout", "Timed out."),
			"graph: update user in tenant fabrikam: 408 RequestTimeout: Timed out.", false, nil},
		{"500 is transient", 500, graphError("generalException", "General exception while processing."),
			"graph: update user in tenant fabrikam: 500 generalException: General exception while processing.", false, nil},
		{"a gateway page is transient", 502, "<html>Bad Gateway</html>",
			"graph: update user in tenant fabrikam: 502 BadGateway: no Graph error in the answer", false, nil},
		{"429 after the retries is transient", 429, graphError("TooManyRequests", "Too many requests."),
			"graph: update user in tenant fabrikam: 429 TooManyRequests: Too many requests.", false, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakeGraph(t, func(w http.ResponseWriter, _ *http.Request, _ []byte) {
				w.Header().Set("Retry-After", "0")
				switch b := tt.body.(type) {
				case string:
					w.Header().Set("Content-Type", "text/html")
					w.WriteHeader(tt.status)
					_, _ = w.Write([]byte(b))
				default:
					writeJSON(w, tt.status, b)
				}
			})
			err := f.client(Options{MaxRetries: 1}).UpdateUser(testContext(t), testTenant, "guest-1", map[string]any{"mail": "ada@contoso.com"})
			if err == nil {
				t.Fatal("want an error")
			}
			if err.Error() != tt.wantText {
				t.Errorf("text = %q\nwant   %q", err, tt.wantText)
			}
			if galsync.IsPermanent(err) != tt.permanent {
				t.Errorf("permanent = %v, want %v", galsync.IsPermanent(err), tt.permanent)
			}
			if tt.kind != nil && !errors.Is(err, tt.kind) {
				t.Errorf("err does not wrap %v", tt.kind)
			}
			// Only a 400 is the request's fault (a refusal the caller may
			// write around); a 403 is a permission to grant.
			if errors.Is(err, galsync.ErrInvalid) != (tt.status == http.StatusBadRequest) {
				t.Errorf("wraps ErrInvalid = %v for status %d", errors.Is(err, galsync.ErrInvalid), tt.status)
			}
			var ge *Error
			if !errors.As(err, &ge) || ge.Status != tt.status {
				t.Errorf("err is not a *graph.Error with status %d", tt.status)
			}
		})
	}
}

func TestErrorsNeverCarryTheRequest(t *testing.T) {
	const mail = "secret.person@contoso.com"
	f := newFakeGraph(t, func(w http.ResponseWriter, _ *http.Request, body []byte) {
		// A hostile answer that echoes the request body back.
		writeJSON(w, http.StatusBadRequest, graphError("Request_BadRequest", "Bad body: "+string(body)))
	})
	_, err := f.client(Options{}).Invite(testContext(t), testTenant, galsync.Invitation{EmailAddress: mail, RedirectURL: "https://myapps.microsoft.com"})
	if err == nil {
		t.Fatal("want an error")
	}
	if strings.Contains(err.Error(), mail) || strings.Contains(err.Error(), testToken) {
		t.Errorf("error text leaks the mail or the token: %v", err)
	}
}

func TestUnknownTenantIsPermanent(t *testing.T) {
	f := newFakeGraph(t, func(w http.ResponseWriter, _ *http.Request, _ []byte) { w.WriteHeader(http.StatusNoContent) })
	err := f.client(Options{}).DeleteUser(testContext(t), "contoso", "u1")
	if !galsync.IsPermanent(err) || !strings.Contains(err.Error(), `tenant "contoso" is not configured`) {
		t.Errorf("err = %v", err)
	}
}

func TestNewRejectsBadEndpoints(t *testing.T) {
	_, err := New(map[string]Endpoint{
		"a": {BaseURL: "https://graph.microsoft.com", Credential: staticCredential{}},
		"b": {BaseURL: "https://graph.microsoft.com/v1.0"},
	}, Options{})
	if err == nil || !strings.Contains(err.Error(), "tenant a: base URL") || !strings.Contains(err.Error(), "tenant b: no credential") {
		t.Errorf("err = %v", err)
	}
}

// TestNestedInnerErrorResync: a resync code nested below the first
// innerError still means "start over" (learn.microsoft.com/graph/errors:
// loop through all the error codes).
func TestNestedInnerErrorResync(t *testing.T) {
	body := `{"error":{"code":"badRequest","message":"m","innerError":{"code":"invalidToken","request-id":"r1",
		"innererror":{"code":"syncStateNotFound"}}}}`
	e := newError("users delta", "t", reply{status: 400, body: []byte(body)})
	if err := classify(e); !errors.Is(err, galsync.ErrDeltaExpired) || e.RequestID != "r1" {
		t.Errorf("classify = %v (code %s, request %s), want a delta-expired error", err, e.Code, e.RequestID)
	}
}
