package servicebus_test

import (
	"strings"
	"testing"

	"github.com/galsync/galsync/shared/servicebus"
)

func env(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

func TestConfigFromEnv(t *testing.T) {
	const (
		conn     = "GALSYNC_SERVICEBUS"
		ns       = "GALSYNC_SERVICEBUS__fullyQualifiedNamespace"
		clientID = "GALSYNC_SERVICEBUS__clientId"
		cred     = "GALSYNC_SERVICEBUS__credential"

		keyConn      = "Endpoint=sb://galsync.servicebus.windows.net/;SharedAccessKeyName=RootManageSharedAccessKey;SharedAccessKey=abc123="
		sigConn      = "Endpoint=sb://galsync.servicebus.windows.net/;SharedAccessSignature=SharedAccessSignature sr=x&sig=y&se=1&skn=k"
		emulatorConn = "Endpoint=sb://127.0.0.1:5672;SharedAccessKeyName=k;SharedAccessKey=v;UseDevelopmentEmulator=true"
	)
	tests := []struct {
		name          string
		env           map[string]string
		wantConn      string
		wantNamespace string
		wantErr       []string // substrings of the error; nil for success
	}{
		{name: "connection string", env: map[string]string{conn: keyConn}, wantConn: keyConn},
		{name: "shared access signature", env: map[string]string{conn: sigConn}, wantConn: sigConn},
		{name: "emulator", env: map[string]string{conn: emulatorConn}, wantConn: emulatorConn},
		{name: "namespace, system-assigned identity", env: map[string]string{ns: "galsync.servicebus.windows.net"}, wantNamespace: "galsync.servicebus.windows.net"},
		{name: "namespace with scheme and slash", env: map[string]string{ns: "sb://galsync.servicebus.usgovcloudapi.net/"}, wantNamespace: "galsync.servicebus.usgovcloudapi.net"},
		{name: "namespace, user-assigned identity", env: map[string]string{ns: "galsync.servicebus.windows.net", clientID: "00000000-0000-0000-0000-000000000001", cred: "managedidentity"}, wantNamespace: "galsync.servicebus.windows.net"},
		{name: "both", env: map[string]string{conn: keyConn, ns: "galsync.servicebus.windows.net"}, wantErr: []string{conn, ns, "both"}},
		{name: "neither", env: map[string]string{}, wantErr: []string{conn, ns}},
		{name: "blank counts as unset", env: map[string]string{conn: "  ", ns: " "}, wantErr: []string{conn, ns}},
		{name: "client id with a connection string", env: map[string]string{conn: keyConn, clientID: "x"}, wantErr: []string{clientID, ns}},
		{name: "unknown credential kind", env: map[string]string{ns: "galsync.servicebus.windows.net", cred: "clientsecret"}, wantErr: []string{cred, "managedidentity"}},
		{name: "namespace with a path", env: map[string]string{ns: "galsync.servicebus.windows.net/invites"}, wantErr: []string{ns, "fully qualified namespace"}},
		{name: "no endpoint", env: map[string]string{conn: "SharedAccessKeyName=k;SharedAccessKey=v"}, wantErr: []string{conn, "Endpoint"}},
		{name: "no key", env: map[string]string{conn: "Endpoint=sb://galsync.servicebus.windows.net/;SharedAccessKeyName=k"}, wantErr: []string{conn, "SharedAccessKey"}},
		{name: "entity path", env: map[string]string{conn: keyConn + ";EntityPath=invites"}, wantErr: []string{conn, "EntityPath"}},
		{name: "emulator flag not a bool", env: map[string]string{conn: "Endpoint=sb://127.0.0.1:5672;SharedAccessKeyName=k;SharedAccessKey=v;UseDevelopmentEmulator=yes please"}, wantErr: []string{conn, "UseDevelopmentEmulator"}},
		{name: "emulator over https", env: map[string]string{conn: "Endpoint=https://127.0.0.1:5672;SharedAccessKeyName=k;SharedAccessKey=v;UseDevelopmentEmulator=true"}, wantErr: []string{conn, "sb://"}},
		{name: "not key=value", env: map[string]string{conn: "just-some-text"}, wantErr: []string{conn, "key=value"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg, err := servicebus.ConfigFromEnv(env(tc.env))
			if tc.wantErr != nil {
				if err == nil {
					t.Fatalf("got %v, want an error", cfg)
				}
				for _, s := range tc.wantErr {
					if !strings.Contains(err.Error(), s) {
						t.Errorf("error %q does not mention %q", err, s)
					}
				}
				return
			}
			if err != nil {
				t.Fatalf("unexpected error: %v", err)
			}
			if cfg.ConnectionString != tc.wantConn || cfg.Namespace != tc.wantNamespace {
				t.Errorf("got connection string %q namespace %q, want %q %q", cfg.ConnectionString, cfg.Namespace, tc.wantConn, tc.wantNamespace)
			}
			if (cfg.Namespace != "") != (cfg.Credential != nil) {
				t.Errorf("namespace %q with credential %v: a namespace needs a credential, a connection string none", cfg.Namespace, cfg.Credential)
			}
		})
	}
}

func TestOpenRejectsIncompleteConfig(t *testing.T) {
	for name, cfg := range map[string]servicebus.Config{
		"empty":                    {},
		"namespace, no credential": {Namespace: "galsync.servicebus.windows.net"},
		"both":                     {Namespace: "galsync.servicebus.windows.net", ConnectionString: "Endpoint=sb://x/;SharedAccessKeyName=k;SharedAccessKey=v"},
		"bad connection string":    {ConnectionString: "Endpoint=sb://x/"},
	} {
		if c, err := servicebus.Open(t.Context(), cfg); err == nil {
			_ = c.Close()
			t.Errorf("%s: Open succeeded, want an error", name)
		}
	}
}
