package identity

import (
	"strings"
	"testing"

	"github.com/galsync/galsync/shared/galsync"
)

func TestValidate(t *testing.T) {
	const (
		app = "33333333-3333-3333-3333-333333333333"
		mi  = "44444444-4444-4444-4444-444444444444"
	)
	tests := []struct {
		name  string
		cloud galsync.Cloud
		auth  galsync.TenantAuth
		want  []string // one substring per expected error, in order
	}{
		{"managed identity", galsync.CloudPublic, galsync.TenantAuth{Method: "managedIdentity"}, nil},
		{"user-assigned managed identity", galsync.CloudPublic, galsync.TenantAuth{Method: "managedIdentity", ManagedIdentityClientID: mi}, nil},
		{"managed identity in another cloud", galsync.CloudChina, galsync.TenantAuth{Method: "managedIdentity"},
			[]string{"signs in only in its own cloud (public), not in china; use method certificate"}},
		{"managed identity with clientId", galsync.CloudPublic, galsync.TenantAuth{Method: "managedIdentity", ClientID: app},
			[]string{"does not use clientId"}},
		{"federated", galsync.CloudPublic, galsync.TenantAuth{Method: "federated", ClientID: app, ManagedIdentityClientID: mi}, nil},
		{"federated without ids", galsync.CloudPublic, galsync.TenantAuth{Method: "federated"},
			[]string{"clientId is missing", "managedIdentityClientId is missing"}},
		{"federated across clouds", galsync.CloudUSGov, galsync.TenantAuth{Method: "federated", ClientID: app, ManagedIdentityClientID: mi},
			[]string{"federated credential only within its own cloud (public), and this tenant is in usgov; use method certificate instead"}},
		{"certificate in another cloud", galsync.CloudUSGovDoD, galsync.TenantAuth{Method: "certificate", ClientID: app, CertificatePath: "/c.pfx"}, nil},
		{"certificate without path", galsync.CloudPublic, galsync.TenantAuth{Method: "certificate", ClientID: app},
			[]string{"certificatePath or certificateSetting is missing"}},
		{"certificate with a bad clientId", galsync.CloudPublic, galsync.TenantAuth{Method: "certificate", ClientID: "my-app", CertificatePath: "/c.pem"},
			[]string{`clientId "my-app" is not a GUID`}},
		{"client secret", galsync.CloudPublic, galsync.TenantAuth{Method: "clientSecret", ClientID: app, ClientSecretSetting: "S"}, nil},
		{"client secret without setting", galsync.CloudPublic, galsync.TenantAuth{Method: "clientSecret", ClientID: app},
			[]string{"clientSecretSetting is missing"}},
		{"no method", galsync.CloudPublic, galsync.TenantAuth{}, []string{"method is missing"}},
		{"unknown method", galsync.CloudPublic, galsync.TenantAuth{Method: "password", ManagedIdentityClientID: "x"},
			[]string{`method "password" is not one of managedIdentity, federated, certificate, clientSecret`, `managedIdentityClientId "x" is not a GUID`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			errs := Validate(galsync.Tenant{Name: "t", Cloud: tt.cloud, Auth: tt.auth}, galsync.CloudPublic)
			if len(errs) != len(tt.want) {
				t.Fatalf("got %d errors %v, want %d", len(errs), errs, len(tt.want))
			}
			for i, w := range tt.want {
				if !strings.Contains(errs[i].Error(), w) {
					t.Errorf("error %d = %q, want it to contain %q", i, errs[i], w)
				}
			}
		})
	}
}

func TestIsGUID(t *testing.T) {
	for s, want := range map[string]bool{
		"33333333-3333-3333-3333-333333333333": true,
		"ABCDEF01-abcd-0123-4567-89abcdefABCD": true,
		"33333333-3333-3333-3333-33333333333":  false,
		"333333333333-3333-3333-33333333-3333": false,
		"3333333g-3333-3333-3333-333333333333": false,
		"":                                     false,
	} {
		if got := isGUID(s); got != want {
			t.Errorf("isGUID(%q) = %v", s, got)
		}
	}
}

// TestValidateGovernmentPair: GCC High and DoD are one Entra cloud (one
// authority, one token-exchange audience), so an app in either signs in to
// the other with its managed identity; commercial stays another cloud.
func TestValidateGovernmentPair(t *testing.T) {
	const app, mi = "33333333-3333-3333-3333-333333333333", "44444444-4444-4444-4444-444444444444"
	federated := galsync.TenantAuth{Method: "federated", ClientID: app, ManagedIdentityClientID: mi}
	for _, tt := range []struct {
		home, tenant galsync.Cloud
		auth         galsync.TenantAuth
		wantErr      string
	}{
		{galsync.CloudUSGov, galsync.CloudUSGovDoD, federated, ""},
		{galsync.CloudUSGovDoD, galsync.CloudUSGov, federated, ""},
		{galsync.CloudUSGovDoD, galsync.CloudUSGov, galsync.TenantAuth{Method: "managedIdentity"}, ""},
		{galsync.CloudUSGov, galsync.CloudPublic, federated, "federated credential only within its own cloud (usgov), and this tenant is in public"},
	} {
		errs := Validate(galsync.Tenant{Name: "t", Cloud: tt.tenant, Auth: tt.auth}, tt.home)
		switch {
		case tt.wantErr == "" && len(errs) > 0:
			t.Errorf("home %s, tenant %s, %s: %v", tt.home, tt.tenant, tt.auth.Method, errs)
		case tt.wantErr != "" && (len(errs) != 1 || !strings.Contains(errs[0].Error(), tt.wantErr)):
			t.Errorf("home %s, tenant %s, %s: %v, want %q", tt.home, tt.tenant, tt.auth.Method, errs, tt.wantErr)
		}
	}
	// Both use the Azure Government sign-in host and audience; only Graph differs.
	gcch, _ := Hosts(galsync.CloudUSGov)
	dod, _ := Hosts(galsync.CloudUSGovDoD)
	if gcch.Authority != dod.Authority || gcch.TokenExchangeAudience != dod.TokenExchangeAudience || gcch.Graph == dod.Graph {
		t.Errorf("GCC High %+v, DoD %+v: want one authority and audience, two Graph hosts", gcch, dod)
	}
}
