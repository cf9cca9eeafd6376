package cosmos

import (
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/runtime"

	"github.com/galsync/galsync/shared/galsync"
)

func responseError(code int, substatus string) error {
	resp := &http.Response{StatusCode: code, Header: http.Header{}, Body: io.NopCloser(strings.NewReader(`{"code":"x"}`)),
		Request: httptest.NewRequest(http.MethodGet, "http://cosmos.example/dbs/d/colls/c/docs/i", nil)}
	if substatus != "" {
		resp.Header.Set("x-ms-substatus", substatus)
	}
	return runtime.NewResponseError(resp)
}

func TestMapError(t *testing.T) {
	tests := []struct {
		name      string
		err       error
		notFound  bool
		conflict  bool
		mentioned string
	}{
		{"item missing", responseError(404, ""), true, false, "not found"},
		{"item missing, substatus 0", responseError(404, "0"), true, false, "not found"},
		{"container missing", responseError(404, subStatusOwnerMissing), false, false, "container or database missing"},
		{"exists", responseError(409, ""), false, true, "409"},
		{"stale etag", responseError(412, ""), false, true, "412"},
		{"throttled", responseError(429, ""), false, false, "429"},
		{"server error", responseError(500, ""), false, false, "500"},
		{"transport", errors.New("connection refused"), false, false, "connection refused"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := mapError("get thing", tc.err)
			if errors.Is(err, galsync.ErrNotFound) != tc.notFound || errors.Is(err, galsync.ErrConflict) != tc.conflict {
				t.Errorf("%v: not found %v, conflict %v; want %v, %v", err, errors.Is(err, galsync.ErrNotFound),
					errors.Is(err, galsync.ErrConflict), tc.notFound, tc.conflict)
			}
			if !strings.HasPrefix(err.Error(), "cosmos: get thing: ") || !strings.Contains(err.Error(), tc.mentioned) {
				t.Errorf("error %q does not say what failed and %q", err, tc.mentioned)
			}
		})
	}
}
