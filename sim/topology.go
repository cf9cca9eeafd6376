package sim

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
)

// The topology document galsync reads, in the shape of its configuration
// (tenants, directions). The simulator writes its own so that `galsync`
// can be pointed at it without hand-editing; it does not import the
// product's types, so the shape is spelt out here.

type topologyDoc struct {
	Tenants    []topologyTenant    `json:"tenants"`
	Directions []topologyDirection `json:"directions"`
}

type topologyTenant struct {
	Name          string       `json:"name"`
	TenantID      string       `json:"tenantId"`
	Cloud         string       `json:"cloud"`
	Domain        string       `json:"domain"`
	GraphBaseURL  string       `json:"graphBaseUrl"`
	AuthorityHost string       `json:"authorityHost"`
	Auth          topologyAuth `json:"auth"`
}

type topologyAuth struct {
	Method              string `json:"method"`
	ClientID            string `json:"clientId"`
	ClientSecretSetting string `json:"clientSecretSetting"`
}

type topologyDirection struct {
	Name              string              `json:"name"`
	Source            string              `json:"source"`
	Target            string              `json:"target"`
	UserType          string              `json:"userType"`
	InviteRedirectURL string              `json:"inviteRedirectUrl"`
	Deprovision       topologyDeprovision `json:"deprovision"`
}

type topologyDeprovision struct {
	Action    string `json:"action"`
	Threshold struct {
		Percent float64 `json:"percent"`
	} `json:"threshold"`
}

// simTenant is one of the tenants Main creates.
type simTenant struct {
	name, id, domain, clientID, secretSetting, secret string
}

func topologyFor(baseURL string, tenants []simTenant) topologyDoc {
	var doc topologyDoc
	for _, t := range tenants {
		doc.Tenants = append(doc.Tenants, topologyTenant{
			Name: t.name, TenantID: t.id, Cloud: "public", Domain: t.domain,
			GraphBaseURL: baseURL + "/graph/" + t.id + "/v1.0", AuthorityHost: baseURL + "/",
			Auth: topologyAuth{Method: "clientSecret", ClientID: t.clientID, ClientSecretSetting: t.secretSetting},
		})
	}
	d := topologyDirection{Name: "source-to-target", Source: "source", Target: "target", UserType: "Guest",
		InviteRedirectURL: "https://myapps.microsoft.com", Deprovision: topologyDeprovision{Action: "disable"}}
	d.Deprovision.Threshold.Percent = 20
	doc.Directions = []topologyDirection{d}
	return doc
}

// writeStateFiles writes cert.pem, topology.json and secrets.env (0600,
// it holds the client secrets).
func writeStateFiles(dir string, certPEM []byte, doc topologyDoc, tenants []simTenant) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("sim: state dir: %w", err)
	}
	topo, err := json.MarshalIndent(doc, "", "  ")
	if err != nil {
		return fmt.Errorf("sim: topology: %w", err)
	}
	var env []byte
	for _, t := range tenants {
		env = fmt.Appendf(env, "%s=%s\n", t.secretSetting, t.secret)
	}
	files := []struct {
		name string
		data []byte
		mode os.FileMode
	}{
		{"cert.pem", certPEM, 0o644},
		{"topology.json", append(topo, '\n'), 0o644},
		{"secrets.env", env, 0o600},
	}
	for _, f := range files {
		path := filepath.Join(dir, f.name)
		if err := os.WriteFile(path, f.data, f.mode); err != nil {
			return fmt.Errorf("sim: write %s: %w", f.name, err)
		}
		if err := os.Chmod(path, f.mode); err != nil { // WriteFile keeps an existing file's mode
			return fmt.Errorf("sim: chmod %s: %w", f.name, err)
		}
	}
	return nil
}
