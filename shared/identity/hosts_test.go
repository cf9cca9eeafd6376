package identity

import (
	"testing"

	"github.com/galsync/galsync/shared/galsync"
)

func TestHosts(t *testing.T) {
	tests := []struct {
		cloud                              galsync.Cloud
		graph, authority, audience, gscope string
	}{
		{galsync.CloudPublic, "https://graph.microsoft.com", "https://login.microsoftonline.com/", "api://AzureADTokenExchange", "https://graph.microsoft.com/.default"},
		{galsync.CloudUSGov, "https://graph.microsoft.us", "https://login.microsoftonline.us/", "api://AzureADTokenExchangeUSGov", "https://graph.microsoft.us/.default"},
		{galsync.CloudUSGovDoD, "https://dod-graph.microsoft.us", "https://login.microsoftonline.us/", "api://AzureADTokenExchangeUSGov", "https://dod-graph.microsoft.us/.default"},
		{galsync.CloudChina, "https://microsoftgraph.chinacloudapi.cn", "https://login.chinacloudapi.cn/", "api://AzureADTokenExchangeChina", "https://microsoftgraph.chinacloudapi.cn/.default"},
	}
	for _, tt := range tests {
		t.Run(string(tt.cloud), func(t *testing.T) {
			h, err := Hosts(tt.cloud)
			if err != nil {
				t.Fatal(err)
			}
			if h.Graph != tt.graph || h.Authority != tt.authority || h.TokenExchangeAudience != tt.audience {
				t.Errorf("Hosts(%s) = %+v", tt.cloud, h)
			}
			if h.GraphScope() != tt.gscope || h.TokenExchangeScope() != tt.audience+"/.default" {
				t.Errorf("scopes = %s, %s", h.GraphScope(), h.TokenExchangeScope())
			}
		})
	}
	if _, err := Hosts("germany"); err == nil {
		t.Error("Hosts(germany): want an error")
	}
}
