package cosmos

import (
	"encoding/base64"
	"errors"
	"fmt"
	"net/url"
	"strings"

	"github.com/galsync/galsync/shared/config"
)

// Settings this package reads, beside the connection settings named in
// shared/config.
const (
	// DatabaseSetting names the database; DefaultDatabase when unset.
	DatabaseSetting = config.CosmosConnection + "_DATABASE"
	DefaultDatabase = "galsync"
)

// Config says where the store lives and how to authenticate. Exactly one of
// AccountKey (connection string: development, the emulator) and managed
// identity (no key; ClientID picks a user-assigned identity) is used.
type Config struct {
	// Endpoint is the account endpoint, https://<account>.documents.azure.com:443/
	// (or the China / US Government equivalent; http only with a key, for
	// a local emulator).
	Endpoint string
	// AccountKey is set when the connection came as a connection string.
	// It formats as [redacted] and is never marshalled.
	AccountKey Secret `json:"-"`
	// ClientID selects a user-assigned managed identity; empty means the
	// system-assigned one. Unused with an AccountKey.
	ClientID string
	// Database is the database id.
	Database string
}

// Secret is a credential that formats as "[redacted]", so a Config that
// reaches a log or an error by mistake does not carry it.
type Secret string

func (Secret) String() string   { return "[redacted]" }
func (Secret) GoString() string { return `"[redacted]"` }

// KeyAuth reports whether the configuration authenticates with the account
// key rather than an identity.
func (c Config) KeyAuth() bool { return c.AccountKey != "" }

// ConfigFromEnv reads the connection in the Azure Functions convention
// (shared/config/connections.go):
//
//	GALSYNC_COSMOS="AccountEndpoint=...;AccountKey=...;"   key auth (development, emulator)
//	GALSYNC_COSMOS__accountEndpoint=https://...           managed identity
//	GALSYNC_COSMOS__clientId=<guid>                        user-assigned identity (optional)
//	GALSYNC_COSMOS__credential=managedidentity             (optional; the only kind supported)
//	GALSYNC_COSMOS_DATABASE=galsync                        (optional)
//
// Errors name the setting at fault and never quote the account key.
func ConfigFromEnv(getenv func(string) string) (Config, error) {
	conn := strings.TrimSpace(getenv(config.CosmosConnection))
	endpointSetting := config.CosmosConnection + config.AccountEndpoint
	endpoint := strings.TrimSpace(getenv(endpointSetting))
	cfg := Config{Database: strings.TrimSpace(getenv(DatabaseSetting))}
	if cfg.Database == "" {
		cfg.Database = DefaultDatabase
	}
	if err := checkDatabaseName(cfg.Database); err != nil {
		return Config{}, fmt.Errorf("cosmos: %s: %w", DatabaseSetting, err)
	}
	switch {
	case conn != "" && endpoint != "":
		return Config{}, fmt.Errorf("cosmos: both %s (connection string) and %s (managed identity) are set; set one",
			config.CosmosConnection, endpointSetting)
	case conn != "":
		ep, key, err := parseConnectionString(conn)
		if err != nil {
			return Config{}, fmt.Errorf("cosmos: %s: %w", config.CosmosConnection, err)
		}
		cfg.Endpoint, cfg.AccountKey = ep, key
		return cfg, nil
	case endpoint != "":
		if err := checkEndpoint(endpoint, true); err != nil {
			return Config{}, fmt.Errorf("cosmos: %s: %w", endpointSetting, err)
		}
		credSetting := config.CosmosConnection + config.Credential
		if c := getenv(credSetting); c != "" && !strings.EqualFold(c, "managedidentity") {
			return Config{}, fmt.Errorf("cosmos: %s is %q; the only credential supported is managedidentity", credSetting, c)
		}
		cfg.Endpoint = endpoint
		cfg.ClientID = strings.TrimSpace(getenv(config.CosmosConnection + config.ClientID))
		return cfg, nil
	default:
		return Config{}, fmt.Errorf("cosmos: no connection: set %s to a connection string (AccountEndpoint=...;AccountKey=...;) or %s to the account endpoint (managed identity)",
			config.CosmosConnection, endpointSetting)
	}
}

// parseConnectionString reads AccountEndpoint and AccountKey. Other keys
// are ignored. No error quotes a value: any of them might be the key.
func parseConnectionString(s string) (endpoint string, key Secret, err error) {
	for i, part := range strings.Split(s, ";") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		name, value, ok := strings.Cut(part, "=")
		if !ok {
			return "", "", fmt.Errorf("connection string part %d is not name=value", i+1)
		}
		switch strings.ToLower(strings.TrimSpace(name)) {
		case "accountendpoint":
			endpoint = strings.TrimSpace(value)
		case "accountkey":
			key = Secret(strings.TrimSpace(value))
		}
	}
	switch {
	case endpoint == "":
		return "", "", errors.New("connection string has no AccountEndpoint")
	case key == "":
		return "", "", errors.New("connection string has no AccountKey")
	}
	if _, err := base64.StdEncoding.DecodeString(string(key)); err != nil {
		return "", "", errors.New("connection string's AccountKey is not base64")
	}
	if err := checkEndpoint(endpoint, false); err != nil {
		return "", "", fmt.Errorf("AccountEndpoint: %w", err)
	}
	return endpoint, key, nil
}

// checkEndpoint accepts an absolute http(s) URL; a token credential needs
// https (azcore refuses to send a bearer token in the clear).
func checkEndpoint(endpoint string, needTLS bool) error {
	u, err := url.Parse(endpoint)
	if err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http") {
		return fmt.Errorf("%q is not an http(s) URL such as https://<account>.documents.azure.com:443/", endpoint)
	}
	if needTLS && u.Scheme != "https" {
		return fmt.Errorf("%q: managed identity needs an https endpoint", endpoint)
	}
	return nil
}

// checkDatabaseName refuses what Cosmos DB refuses in resource ids.
func checkDatabaseName(name string) error {
	if strings.ContainsAny(name, `/\?#`) || strings.TrimSpace(name) != name || len(name) > 255 {
		return fmt.Errorf("%q is not a valid database id (no / \\ ? #, no surrounding spaces, at most 255 characters)", name)
	}
	return nil
}
