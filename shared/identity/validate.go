package identity

import (
	"errors"
	"fmt"

	"github.com/galsync/galsync/shared/galsync"
)

// Validate checks a tenant's authentication settings at configuration time,
// for an app whose managed identity lives in the home cloud. "Its own cloud"
// below is its Entra ID cloud: usgov and usgovdod are one. It returns one
// error per problem. The cloud names themselves are checked by shared/config.
func Validate(t galsync.Tenant, home galsync.Cloud) []error {
	a := t.Auth
	var errs []error
	switch a.Method {
	case "":
		return []error{fmt.Errorf("method is missing (one of %s)", methodList)}
	case galsync.AuthManagedIdentity:
		if !galsync.SameEntraCloud(t.Cloud, home) {
			errs = append(errs, fmt.Errorf("method %s: a managed identity signs in only in its own cloud (%s), not in %s; use method %s",
				a.Method, home, t.Cloud, galsync.AuthCertificate))
		}
		if a.ClientID != "" {
			errs = append(errs, fmt.Errorf("method %s does not use clientId; a user-assigned identity is chosen with managedIdentityClientId", a.Method))
		}
	case galsync.AuthFederated:
		// GCC High and DoD are one Entra cloud (galsync.SameEntraCloud):
		// "Accessing resources in another tenant is supported. Accessing
		// resources in another cloud is not supported."
		// (https://learn.microsoft.com/entra/workload-id/workload-identity-federation-config-app-trust-managed-identity)
		if !galsync.SameEntraCloud(t.Cloud, home) {
			errs = append(errs, fmt.Errorf("method %s: a managed identity is a federated credential only within its own cloud (%s), and this tenant is in %s; use method %s instead",
				a.Method, home, t.Cloud, galsync.AuthCertificate))
		}
		errs = append(errs, require("clientId", a.ClientID, "the app registration trusting the managed identity")...)
		// Only a user-assigned managed identity can be an app's federated
		// identity credential (Microsoft Entra workload identity docs).
		errs = append(errs, require("managedIdentityClientId", a.ManagedIdentityClientID, "the user-assigned managed identity the app registration trusts")...)
	case galsync.AuthCertificate:
		errs = append(errs, require("clientId", a.ClientID, "the app registration holding the certificate")...)
		switch {
		case a.CertificatePath == "" && a.CertificateSetting == "":
			errs = append(errs, errors.New("certificatePath or certificateSetting is missing (a PEM or PFX file with the certificate and its private key, or the app setting holding it, e.g. a Key Vault reference)"))
		case a.CertificatePath != "" && a.CertificateSetting != "":
			errs = append(errs, errors.New("certificatePath and certificateSetting are both set; give one"))
		}
	case galsync.AuthClientSecret:
		errs = append(errs, require("clientId", a.ClientID, "the app registration")...)
		if a.ClientSecretSetting == "" {
			errs = append(errs, errors.New("clientSecretSetting is missing (the name of the app setting holding the secret)"))
		}
	default:
		errs = append(errs, fmt.Errorf("method %q is not one of %s", a.Method, methodList))
	}
	if a.ClientID != "" && !isGUID(a.ClientID) {
		errs = append(errs, fmt.Errorf("clientId %q is not a GUID", a.ClientID))
	}
	if a.ManagedIdentityClientID != "" && !isGUID(a.ManagedIdentityClientID) {
		errs = append(errs, fmt.Errorf("managedIdentityClientId %q is not a GUID", a.ManagedIdentityClientID))
	}
	return errs
}

const methodList = galsync.AuthManagedIdentity + ", " + galsync.AuthFederated + ", " + galsync.AuthCertificate + ", " + galsync.AuthClientSecret

func require(field, v, what string) []error {
	if v == "" {
		return []error{fmt.Errorf("%s is missing (%s)", field, what)}
	}
	return nil
}

// isGUID reports whether s has the 8-4-4-4-12 hexadecimal form.
func isGUID(s string) bool {
	if len(s) != 36 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch i {
		case 8, 13, 18, 23:
			if c != '-' {
				return false
			}
		default:
			if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F') {
				return false
			}
		}
	}
	return true
}
