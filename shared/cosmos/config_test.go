package cosmos_test

import (
	"strings"
	"testing"

	"github.com/galsync/galsync/shared/cosmos"
)

// key is a well-formed account key that must never show in an error.
const key = "c2VjcmV0LWtleS1vZi10aGUtdGVzdC1hY2NvdW50LWRvLW5vdC1sZWFr"

func TestConfigFromEnv(t *testing.T) {
	const (
		conn     = "GALSYNC_COSMOS"
		endpoint = "GALSYNC_COSMOS__accountEndpoint"
		clientID = "GALSYNC_COSMOS__clientId"
		cred     = "GALSYNC_COSMOS__credential"
		database = "GALSYNC_COSMOS_DATABASE"
		account  = "https://acct.documents.azure.com:443/"
	)
	tests := []struct {
		name string
		env  env
		want cosmos.Config
		// errWords must all be in the error; empty means success.
		errWords []string
	}{
		{name: "connection string",
			env:  env{conn: "AccountEndpoint=" + account + ";AccountKey=" + key + ";"},
			want: cosmos.Config{Endpoint: account, AccountKey: key, Database: "galsync"}},
		{name: "connection string, loosely written",
			env:  env{conn: " accountendpoint = http://127.0.0.1:8081/ ; ACCOUNTKEY=" + key + " ;Database=other;;", database: "sync"},
			want: cosmos.Config{Endpoint: "http://127.0.0.1:8081/", AccountKey: key, Database: "sync"}},
		{name: "connection string ignores clientId",
			env:  env{conn: "AccountEndpoint=" + account + ";AccountKey=" + key, clientID: "11111111-1111-1111-1111-111111111111"},
			want: cosmos.Config{Endpoint: account, AccountKey: key, Database: "galsync"}},
		{name: "system-assigned managed identity",
			env:  env{endpoint: account},
			want: cosmos.Config{Endpoint: account, Database: "galsync"}},
		{name: "user-assigned managed identity",
			env:  env{endpoint: account, clientID: "11111111-1111-1111-1111-111111111111", cred: "managedidentity", database: "prod"},
			want: cosmos.Config{Endpoint: account, ClientID: "11111111-1111-1111-1111-111111111111", Database: "prod"}},
		{name: "US Government endpoint",
			env:  env{endpoint: "https://acct.documents.azure.us:443/"},
			want: cosmos.Config{Endpoint: "https://acct.documents.azure.us:443/", Database: "galsync"}},

		{name: "nothing set", env: env{}, errWords: []string{conn, endpoint}},
		{name: "both set", env: env{conn: "AccountEndpoint=" + account + ";AccountKey=" + key, endpoint: account},
			errWords: []string{conn, endpoint, "one"}},
		{name: "no endpoint in the connection string", env: env{conn: "AccountKey=" + key + ";"},
			errWords: []string{conn, "AccountEndpoint"}},
		{name: "no key in the connection string", env: env{conn: "AccountEndpoint=" + account},
			errWords: []string{conn, "AccountKey"}},
		{name: "key not base64", env: env{conn: "AccountEndpoint=" + account + ";AccountKey=" + key + "!!"},
			errWords: []string{conn, "AccountKey", "base64"}},
		{name: "part without =", env: env{conn: "AccountEndpoint=" + account + ";" + key},
			errWords: []string{conn, "part 2"}},
		{name: "endpoint not a URL", env: env{conn: "AccountEndpoint=acct.documents.azure.com;AccountKey=" + key},
			errWords: []string{conn, "AccountEndpoint", "URL"}},
		{name: "managed identity over http", env: env{endpoint: "http://acct.documents.azure.com/"},
			errWords: []string{endpoint, "https"}},
		{name: "unsupported credential", env: env{endpoint: account, cred: "clientsecret"},
			errWords: []string{cred, "managedidentity"}},
		{name: "bad database id", env: env{endpoint: account, database: "a/b"},
			errWords: []string{database}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := cosmos.ConfigFromEnv(tc.env.get)
			if len(tc.errWords) == 0 {
				if err != nil {
					t.Fatalf("error: %v", err)
				}
				if got != tc.want {
					t.Fatalf("got %#v\nwant %#v", got, tc.want)
				}
				if got.KeyAuth() != (tc.want.AccountKey != "") {
					t.Errorf("KeyAuth %v", got.KeyAuth())
				}
				return
			}
			if err == nil {
				t.Fatalf("no error; got %#v", got)
			}
			for _, w := range tc.errWords {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %q", err, w)
				}
			}
			if strings.Contains(err.Error(), key) {
				t.Errorf("error quotes the account key: %q", err)
			}
		})
	}
}
