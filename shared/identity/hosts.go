// Package identity signs galsync in to each configured tenant with
// azidentity: a managed identity in the app's own tenant, that managed
// identity as a federated credential of an app registration elsewhere in the
// same cloud, or a certificate (or, for development, a client secret) where
// the managed identity cannot reach.
package identity

import (
	"fmt"

	"github.com/galsync/galsync/shared/galsync"
)

// CloudHosts are the endpoints of one Microsoft cloud.
type CloudHosts struct {
	// Graph is the Microsoft Graph service root, without a trailing slash.
	Graph string
	// Authority is the Microsoft Entra sign-in host, with a trailing slash
	// (the form azcore/cloud.Configuration expects).
	Authority string
	// TokenExchangeAudience is the audience a managed identity token must
	// carry to be accepted as a federated credential in this cloud.
	TokenExchangeAudience string
}

// GraphScope is the client-credentials scope for Microsoft Graph.
func (h CloudHosts) GraphScope() string { return h.Graph + "/.default" }

// TokenExchangeScope is the scope that asks a managed identity for a token
// with the token-exchange audience.
func (h CloudHosts) TokenExchangeScope() string { return h.TokenExchangeAudience + "/.default" }

// Hosts returns the endpoints of cloud c.
//
// Graph and sign-in hosts: Microsoft Graph "National cloud deployments"
// (learn.microsoft.com/graph/deployments; microsoftgraph/microsoft-graph-docs-contrib
// concepts/deployments.md). Token-exchange audiences: "Configure an
// application to trust a managed identity" (MicrosoftDocs/entra-docs
// docs/workload-id/workload-identity-federation-config-app-trust-managed-identity.md):
// public api://AzureADTokenExchange, Fairfax (US Government, GCC High and
// DoD) api://AzureADTokenExchangeUSGov, Mooncake api://AzureADTokenExchangeChina.
func Hosts(c galsync.Cloud) (CloudHosts, error) {
	switch c {
	case galsync.CloudPublic:
		return CloudHosts{
			Graph:                 "https://graph.microsoft.com",
			Authority:             "https://login.microsoftonline.com/",
			TokenExchangeAudience: "api://AzureADTokenExchange",
		}, nil
	case galsync.CloudUSGov:
		return CloudHosts{
			Graph:                 "https://graph.microsoft.us",
			Authority:             "https://login.microsoftonline.us/",
			TokenExchangeAudience: "api://AzureADTokenExchangeUSGov",
		}, nil
	case galsync.CloudUSGovDoD:
		return CloudHosts{
			Graph:                 "https://dod-graph.microsoft.us",
			Authority:             "https://login.microsoftonline.us/",
			TokenExchangeAudience: "api://AzureADTokenExchangeUSGov",
		}, nil
	case galsync.CloudChina:
		return CloudHosts{
			Graph:                 "https://microsoftgraph.chinacloudapi.cn",
			Authority:             "https://login.chinacloudapi.cn/",
			TokenExchangeAudience: "api://AzureADTokenExchangeChina",
		}, nil
	default:
		return CloudHosts{}, fmt.Errorf("identity: cloud %q is not one of %s, %s, %s, %s",
			c, galsync.CloudPublic, galsync.CloudUSGov, galsync.CloudUSGovDoD, galsync.CloudChina)
	}
}
