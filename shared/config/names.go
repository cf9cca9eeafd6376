package config

import "sort"

// SettingNames returns the name of every app setting Settings reads, as the
// process environment spells it (GALSYNC_TOPOLOGY, ...), sorted. It is the
// key set of Values, so both follow envconfig's naming the same way.
func SettingNames() []string {
	values := Settings{}.Values()
	names := make([]string, 0, len(values))
	for name := range values {
		names = append(names, name)
	}
	sort.Strings(names)
	return names
}

// ConnectionSettingNames returns the app settings of the backends'
// connections (connections.go), in both forms the code accepts: the
// connection string in the setting itself, and the identity-based settings
// beside it.
func ConnectionSettingNames() []string {
	return []string{
		ServiceBusConnection,
		ServiceBusConnection + FullyQualifiedNamespace,
		ServiceBusConnection + ClientID,
		ServiceBusConnection + Credential,
		CosmosConnection,
		CosmosConnection + AccountEndpoint,
		CosmosConnection + ClientID,
		CosmosConnection + Credential,
	}
}
