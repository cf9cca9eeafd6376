package servicebus

import (
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"strconv"
	"strings"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"

	"github.com/galsync/galsync/shared/config"
	"github.com/galsync/galsync/shared/identity"
)

// The app settings a Service Bus connection is read from (the Azure
// Functions convention, shared with the Service Bus trigger).
const (
	settingConnectionString = config.ServiceBusConnection
	settingNamespace        = config.ServiceBusConnection + config.FullyQualifiedNamespace
	settingClientID         = config.ServiceBusConnection + config.ClientID
	settingCredential       = config.ServiceBusConnection + config.Credential
)

// Config says how to reach a Service Bus namespace: by a connection string
// (development, the emulator, a local test broker), or by its fully
// qualified namespace and a token credential (production, managed
// identity). Exactly one of ConnectionString and Namespace is set.
//
// Config never prints its connection string: String, GoString and LogValue
// show only the endpoint.
type Config struct {
	// ConnectionString carries a shared access key or signature, or names
	// the development emulator (…;UseDevelopmentEmulator=true).
	ConnectionString string
	// Namespace is the fully qualified namespace, e.g.
	// galsync.servicebus.windows.net, reached with Credential.
	Namespace  string
	Credential azcore.TokenCredential
}

// ConfigFromEnv reads the connection from app settings: either
// GALSYNC_SERVICEBUS as a connection string, or
// GALSYNC_SERVICEBUS__fullyQualifiedNamespace with a managed identity
// (user-assigned when GALSYNC_SERVICEBUS__clientId is set).
func ConfigFromEnv(getenv func(string) string) (Config, error) {
	connStr := strings.TrimSpace(getenv(settingConnectionString))
	namespace := strings.TrimSpace(getenv(settingNamespace))
	clientID := strings.TrimSpace(getenv(settingClientID))
	credential := strings.TrimSpace(getenv(settingCredential))
	switch {
	case connStr != "" && namespace != "":
		return Config{}, fmt.Errorf("servicebus: both %s (a connection string) and %s are set; set only one", settingConnectionString, settingNamespace)
	case connStr == "" && namespace == "":
		return Config{}, fmt.Errorf("servicebus: no connection: set %s to a connection string, or %s to the namespace (with a managed identity)", settingConnectionString, settingNamespace)
	case connStr != "":
		if clientID != "" || credential != "" {
			return Config{}, fmt.Errorf("servicebus: %s and %s apply to an identity-based connection (%s), not to a connection string", settingClientID, settingCredential, settingNamespace)
		}
		if _, err := parseConnectionString(connStr); err != nil {
			return Config{}, fmt.Errorf("servicebus: %s: %w", settingConnectionString, err)
		}
		return Config{ConnectionString: connStr}, nil
	}
	ns, err := normalizeNamespace(namespace)
	if err != nil {
		return Config{}, fmt.Errorf("servicebus: %s: %w", settingNamespace, err)
	}
	if credential != "" && !strings.EqualFold(credential, "managedidentity") {
		return Config{}, fmt.Errorf("servicebus: %s is %q; the only supported value is managedidentity", settingCredential, credential)
	}
	cred, err := identity.ManagedIdentity(clientID, nil)
	if err != nil {
		return Config{}, fmt.Errorf("servicebus: managed identity for %s: %w", settingNamespace, err)
	}
	return Config{Namespace: ns, Credential: cred}, nil
}

// validate checks that exactly one way to connect is configured.
func (c Config) validate() error {
	switch {
	case c.ConnectionString != "" && c.Namespace != "":
		return errors.New("servicebus: config sets both a connection string and a namespace")
	case c.ConnectionString != "":
		_, err := parseConnectionString(c.ConnectionString)
		if err != nil {
			return fmt.Errorf("servicebus: connection string: %w", err)
		}
		return nil
	case c.Namespace == "":
		return errors.New("servicebus: config sets neither a connection string nor a namespace")
	case c.Credential == nil:
		return fmt.Errorf("servicebus: namespace %s has no credential", c.Namespace)
	}
	_, err := normalizeNamespace(c.Namespace)
	return err
}

// endpoint describes where the config points, without secrets.
func (c Config) endpoint() string {
	if c.ConnectionString == "" {
		return c.Namespace
	}
	cs, err := parseConnectionString(c.ConnectionString)
	if err != nil {
		return "(invalid connection string)"
	}
	return cs.host
}

// String shows where the config points and how it authenticates, never the
// connection string itself.
func (c Config) String() string {
	switch {
	case c.ConnectionString != "":
		return "servicebus " + c.endpoint() + " (connection string)"
	case c.Namespace != "":
		return "servicebus " + c.Namespace + " (token credential)"
	}
	return "servicebus (not configured)"
}

// GoString keeps %#v from printing the connection string.
func (c Config) GoString() string { return c.String() }

// LogValue keeps slog from printing the connection string.
func (c Config) LogValue() slog.Value { return slog.StringValue(c.String()) }

// connectionString is what galsync needs to know of a connection string.
// Its secrets are never copied out of the string.
type connectionString struct {
	host     string
	emulator bool
	secrets  []string
}

// parseConnectionString checks a connection string the way azservicebus
// will read it, with errors that name keys but never repeat values (other
// than the endpoint's host).
func parseConnectionString(s string) (connectionString, error) {
	var (
		cs                              connectionString
		endpoint, keyName, key, sigPart string
		hasKeyName, hasKey, hasSig      bool
	)
	for _, part := range strings.Split(s, ";") {
		if strings.TrimSpace(part) == "" {
			continue
		}
		k, v, ok := strings.Cut(part, "=")
		if !ok {
			return connectionString{}, errors.New("malformed: every part must be key=value")
		}
		switch k = strings.TrimSpace(k); {
		case strings.EqualFold(k, "Endpoint"):
			endpoint = v
		case strings.EqualFold(k, "SharedAccessKeyName"):
			keyName, hasKeyName = v, true
		case strings.EqualFold(k, "SharedAccessKey"):
			key, hasKey = v, true
		case strings.EqualFold(k, "SharedAccessSignature"):
			sigPart, hasSig = v, true
		case strings.EqualFold(k, "EntityPath"):
			return connectionString{}, errors.New("EntityPath is set: galsync uses several queues, so give a namespace-level connection string")
		case strings.EqualFold(k, "UseDevelopmentEmulator"):
			b, err := strconv.ParseBool(v)
			if err != nil {
				return connectionString{}, errors.New("UseDevelopmentEmulator must be true or false")
			}
			cs.emulator = b
		}
	}
	for _, secret := range []string{key, sigPart} {
		if secret != "" {
			cs.secrets = append(cs.secrets, secret)
		}
	}
	if endpoint == "" {
		return connectionString{}, errors.New("the Endpoint key is missing")
	}
	u, err := url.Parse(endpoint)
	if err != nil || u.Host == "" {
		return connectionString{}, errors.New("the Endpoint must look like sb://<namespace>.servicebus.windows.net/")
	}
	if cs.emulator && u.Scheme != "sb" {
		return connectionString{}, errors.New("UseDevelopmentEmulator=true needs an Endpoint of the form sb://<host>[:port]")
	}
	cs.host = u.Host
	if !hasSig && (!hasKeyName || keyName == "" || !hasKey || key == "") {
		return connectionString{}, errors.New("SharedAccessKeyName and SharedAccessKey (or SharedAccessSignature) are required")
	}
	return cs, nil
}

// normalizeNamespace accepts "<ns>.servicebus.windows.net", with or without
// an sb:// or https:// scheme and a trailing slash, and returns the host.
func normalizeNamespace(ns string) (string, error) {
	raw := ns
	if !strings.Contains(ns, "://") {
		raw = "sb://" + ns
	}
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" || strings.Trim(u.Path, "/") != "" || u.User != nil || u.RawQuery != "" {
		return "", fmt.Errorf("%q is not a fully qualified namespace such as galsync.servicebus.windows.net", ns)
	}
	return u.Host, nil
}
