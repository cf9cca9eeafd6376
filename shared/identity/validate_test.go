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
