package funcproto

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"maps"
	"net/http"
	"slices"
	"strings"
)

// anonymousIdentity is an unauthenticated ClaimsIdentity as Newtonsoft
// writes it: what Identities holds for a request without keys or tokens.
const anonymousIdentity = `{"AuthenticationType":null,"IsAuthenticated":false,"Actor":null,"BootstrapContext":null,"Claims":[],"Label":null,"Name":null,"NameClaimType":"http://schemas.xmlsoap.org/ws/2005/05/identity/claims/name","RoleClaimType":"http://schemas.microsoft.com/ws/2008/06/identity/claims/role"}`

// EncodeHTTP encodes the invocation of a function whose httpTrigger binding
// is named binding, in envelope mode: Data holds the request (Url, Method,
// Query, Headers as string arrays, Params, Identities, and Body only when
// the request's Content-Length is positive, as GetRequestAsJObject does);
// Metadata holds Query, Headers, the route parameters and sys. body is the
// request body, already read by the caller.
func EncodeHTTP(binding string, r *http.Request, body []byte, params map[string]string, sys Sys) ([]byte, error) {
	if binding == "" {
		return nil, errors.New("funcproto: encode http invocation: no binding name")
	}
	if r == nil || r.URL == nil {
		return nil, errors.New("funcproto: encode http invocation: no request")
	}
	headers := requestHeaders(r)
	var req object
	req.add("Url", jsonText(requestURL(r)))
	req.add("Method", jsonText(r.Method))
	req.add("Query", stringObject(queryValues(r)).json())
	req.add("Headers", headerObject(headers).json())
	req.add("Params", stringObject(params).json())
	req.add("Identities", json.RawMessage("["+anonymousIdentity+"]"))
	// A chunked request has no Content-Length, and the host then drops
	// its body: mirror that.
	if r.ContentLength > 0 {
		text := string(body)
		if isBinaryMediaType(r.Header.Get("Content-Type")) {
			text = base64.StdEncoding.EncodeToString(body)
		}
		req.add("Body", jsonText(text))
	}
	data := object{{binding, req.json()}}

	var meta object
	meta.add("Query", stringObject(queryValues(r)).json())
	meta.add("Headers", stringObject(joinedHeaders(headers)).json())
	for _, k := range slices.Sorted(maps.Keys(params)) {
		meta.put(k, doubleEncoded(params[k]))
	}
	meta.put("sys", sys.object().json())
	if r.ContentLength > 0 {
		copyBodyScalars(&meta, body)
	}
	return envelope(data, meta), nil
}

func requestURL(r *http.Request) string {
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	host := r.Host
	if host == "" {
		host = r.URL.Host
	}
	u := scheme + "://" + host + r.URL.EscapedPath()
	if r.URL.RawQuery != "" {
		u += "?" + r.URL.RawQuery
	}
	return u
}

// queryValues joins repeated parameters with commas, as StringValues does.
func queryValues(r *http.Request) map[string]string {
	out := map[string]string{}
	for k, v := range r.URL.Query() {
		out[k] = strings.Join(v, ",")
	}
	return out
}

// requestHeaders are the request's headers with Host, which Go moves out of
// the header map and ASP.NET keeps in it.
func requestHeaders(r *http.Request) map[string][]string {
	out := make(map[string][]string, len(r.Header)+1)
	for k, v := range r.Header {
		out[k] = v
	}
	if r.Host != "" {
		out["Host"] = []string{r.Host}
	}
	return out
}

func headerObject(h map[string][]string) object {
	keys := slices.Sorted(maps.Keys(h))
	o := make(object, 0, len(keys))
	for _, k := range keys {
		o.add(k, jsonArray(h[k]))
	}
	return o
}

func joinedHeaders(h map[string][]string) map[string]string {
	out := make(map[string]string, len(h))
	for k, v := range h {
		out[k] = strings.Join(v, ",")
	}
	return out
}
