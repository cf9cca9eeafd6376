package graph

import (
	"context"
	"net"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/cloud"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"

	"github.com/galsync/galsync/sim"
)

// startSim serves a tenant simulator on a loopback port until the test
// ends and returns it with its base URL.
func startSim(tb testing.TB, opts sim.Options) (*sim.Server, string) {
	tb.Helper()
	s := sim.New(opts)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- s.ServeTLS(ln) }()
	tb.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = s.Shutdown(ctx)
		<-served
	})
	return s, "https://" + ln.Addr().String()
}

// simEndpoint creates tenant id in the simulator with an app of its own
// and returns the tenant's Graph endpoint, signed in as that app.
func simEndpoint(tb testing.TB, s *sim.Server, base, id, domain, clientID, secret string) Endpoint {
	tb.Helper()
	if _, err := s.CreateTenant(id, domain); err != nil {
		tb.Fatal(err)
	}
	if err := s.AddApp(id, clientID, secret); err != nil {
		tb.Fatal(err)
	}
	cred, err := azidentity.NewClientSecretCredential(id, clientID, secret, &azidentity.ClientSecretCredentialOptions{
		ClientOptions:            azcore.ClientOptions{Cloud: cloud.Configuration{ActiveDirectoryAuthorityHost: base + "/"}, Transport: s.Client()},
		DisableInstanceDiscovery: true,
	})
	if err != nil {
		tb.Fatal(err)
	}
	return Endpoint{BaseURL: base + "/graph/" + id + "/v1.0", Credential: cred, Scopes: []string{"https://graph.microsoft.com/.default"}}
}
