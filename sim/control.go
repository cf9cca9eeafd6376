package sim

import (
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"time"
)

// The control API: plain JSON, no authentication, for tests and operators
// to stage tenants, users and faults and to read what galsync did. Each
// handler is a thin shell over the Go method of the same purpose.

func ctlError(w http.ResponseWriter, err error) {
	writeJSON(w, statusOf(err), map[string]string{"error": err.Error()})
}

func decodeControl(r *http.Request, v any) error {
	b, err := io.ReadAll(http.MaxBytesReader(nil, r.Body, maxBody))
	if err != nil {
		return fmt.Errorf("sim: read body: %w", err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		return fmt.Errorf("sim: body is not valid JSON: %w", err)
	}
	return nil
}

func (s *Server) ctlListTenants(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, s.Tenants())
}

func (s *Server) ctlCreateTenant(w http.ResponseWriter, r *http.Request) {
	var body Tenant
	if err := decodeControl(r, &body); err != nil {
		ctlError(w, err)
		return
	}
	t, err := s.CreateTenant(body.ID, body.Domain)
	if err != nil {
		ctlError(w, err)
		return
	}
	writeJSON(w, http.StatusCreated, t)
}

func (s *Server) ctlListUsers(w http.ResponseWriter, r *http.Request) {
	users, err := s.Users(r.PathValue("tenant"))
	if err != nil {
		ctlError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, users)
}

func (s *Server) ctlGetUser(w http.ResponseWriter, r *http.Request) {
	u, err := s.User(r.PathValue("tenant"), r.PathValue("id"))
	if err != nil {
		ctlError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, u)
}

// ctlUpsertUser takes a user in Graph's JSON; any property may be set.
// accountEnabled defaults to true.
func (s *Server) ctlUpsertUser(w http.ResponseWriter, r *http.Request) {
	var body map[string]json.RawMessage
	if err := decodeControl(r, &body); err != nil {
		ctlError(w, err)
		return
	}
	u := User{AccountEnabled: true}
	for name, raw := range body {
		i, ok := lookupProp(name)
		if !ok {
			ctlError(w, fmt.Errorf("sim: unknown user property %q", name))
			return
		}
		if gerr := setValue(userProps[i], &u, raw, patchControl); gerr != nil {
			ctlError(w, gerr)
			return
		}
	}
	status := http.StatusCreated
	if _, err := s.User(r.PathValue("tenant"), u.ID); u.ID != "" && err == nil {
		status = http.StatusOK // replaced
	}
	u, err := s.UpsertUser(r.PathValue("tenant"), u)
	if err != nil {
		ctlError(w, err)
		return
	}
	writeJSON(w, status, u)
}

func (s *Server) ctlPatchUser(w http.ResponseWriter, r *http.Request) {
	var patch map[string]any
	if err := decodeControl(r, &patch); err != nil {
		ctlError(w, err)
		return
	}
	u, err := s.UpdateUser(r.PathValue("tenant"), r.PathValue("id"), patch)
	if err != nil {
		ctlError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, u)
}

// ctlDeleteUser deletes permanently unless ?soft=true.
func (s *Server) ctlDeleteUser(w http.ResponseWriter, r *http.Request) {
	soft, _ := strconv.ParseBool(r.URL.Query().Get("soft"))
	if err := s.DeleteUser(r.PathValue("tenant"), r.PathValue("id"), soft); err != nil {
		ctlError(w, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) ctlSeed(w http.ResponseWriter, r *http.Request) {
	var spec SeedSpec
	if err := decodeControl(r, &spec); err != nil {
		ctlError(w, err)
		return
	}
	users, err := s.SeedUsers(r.PathValue("tenant"), spec)
	if err != nil {
		ctlError(w, err)
		return
	}
	writeJSON(w, http.StatusCreated, map[string]int{"created": len(users)})
}

// appRegistration is the control API's body for an app: a secret, a
// certificate (PEM) or a federated credential, or several.
type appRegistration struct {
	ClientID       string               `json:"clientId"`
	Secret         string               `json:"secret,omitempty"`
	CertificatePEM string               `json:"certificatePem,omitempty"`
	Federated      *FederatedCredential `json:"federated,omitempty"`
}

func (s *Server) ctlAddApp(w http.ResponseWriter, r *http.Request) {
	var body appRegistration
	if err := decodeControl(r, &body); err != nil {
		ctlError(w, err)
		return
	}
	tenantID := r.PathValue("tenant")
	var errs []error
	if body.Secret != "" {
		errs = append(errs, s.AddApp(tenantID, body.ClientID, body.Secret))
	}
	if body.CertificatePEM != "" {
		block, _ := pem.Decode([]byte(body.CertificatePEM))
		if block == nil {
			errs = append(errs, errors.New("sim: certificatePem holds no PEM block"))
		} else {
			errs = append(errs, s.AddAppCertificate(tenantID, body.ClientID, block.Bytes))
		}
	}
	if body.Federated != nil {
		errs = append(errs, s.AddFederatedCredential(tenantID, body.ClientID, *body.Federated))
	}
	if body.Secret == "" && body.CertificatePEM == "" && body.Federated == nil {
		errs = append(errs, errors.New("sim: an app needs a secret, a certificatePem or a federated credential"))
	}
	if err := errors.Join(errs...); err != nil {
		ctlError(w, err)
		return
	}
	writeJSON(w, http.StatusCreated, map[string]string{"clientId": body.ClientID})
}

func (s *Server) ctlInvalidate(w http.ResponseWriter, r *http.Request) {
	if err := s.InvalidateDeltaTokens(r.PathValue("tenant")); err != nil {
		ctlError(w, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) ctlGetFaults(w http.ResponseWriter, r *http.Request) {
	f, err := s.CurrentFaults(r.PathValue("tenant"))
	if err != nil {
		ctlError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, f)
}

func (s *Server) ctlSetFaults(w http.ResponseWriter, r *http.Request) {
	var f Faults
	if err := decodeControl(r, &f); err != nil {
		ctlError(w, err)
		return
	}
	if err := s.SetFaults(r.PathValue("tenant"), f); err != nil {
		ctlError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, f)
}

// ctlRequests: ?tenant= (id or domain), ?kind=, ?since= (a sequence
// number: requests after it; or an RFC 3339 time: requests from then).
func (s *Server) ctlRequests(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	f := RequestFilter{Tenant: q.Get("tenant"), Kind: q.Get("kind")}
	if since := q.Get("since"); since != "" {
		if n, err := strconv.ParseInt(since, 10, 64); err == nil {
			f.AfterSeq = n
		} else if t, err := time.Parse(time.RFC3339Nano, since); err == nil {
			f.Since = t
		} else {
			ctlError(w, fmt.Errorf("sim: since %q is neither a sequence number nor an RFC 3339 time", since))
			return
		}
	}
	reqs := s.FindRequests(f)
	if reqs == nil {
		reqs = []Request{}
	}
	writeJSON(w, http.StatusOK, reqs)
}

func (s *Server) ctlResetRequests(w http.ResponseWriter, _ *http.Request) {
	s.ResetRequests()
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) ctlStats(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, s.Stats(r.URL.Query().Get("tenant")))
}
