package config

// Connection settings of the Azure backends. They follow the Azure Functions
// convention for connections, so the Service Bus trigger (whose function.json
// names "connection": "GALSYNC_SERVICEBUS") and galsync's own clients read
// the same app settings:
//
//   - a connection string in the setting itself (development, emulators):
//     GALSYNC_SERVICEBUS="Endpoint=sb://...;SharedAccessKeyName=...;SharedAccessKey=..."
//     GALSYNC_COSMOS="AccountEndpoint=https://...;AccountKey=...;"
//   - or an identity-based connection (production, no secret):
//     GALSYNC_SERVICEBUS__fullyQualifiedNamespace=<ns>.servicebus.windows.net
//     GALSYNC_COSMOS__accountEndpoint=https://<account>.documents.azure.com:443/
//     and, for a user-assigned managed identity, <setting>__clientId.
const (
	ServiceBusConnection = Prefix + "_SERVICEBUS"
	CosmosConnection     = Prefix + "_COSMOS"

	// Suffixes of identity-based connections (Functions spelling).
	FullyQualifiedNamespace = "__fullyQualifiedNamespace"
	AccountEndpoint         = "__accountEndpoint"
	ClientID                = "__clientId"
	Credential              = "__credential"
)
