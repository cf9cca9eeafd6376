# One user-assigned managed identity runs everything: the Functions host
# (storage, Service Bus trigger, telemetry) and galsync (Service Bus, Cosmos,
# Graph). User-assigned rather than system-assigned because only a
# user-assigned identity can be an app registration's federated credential
# (graph.tf), and because it exists before the app, so every role below is
# in place when the host first starts.
resource "azurerm_user_assigned_identity" "app" {
  name                = local.identity_name
  resource_group_name = azurerm_resource_group.main.name
  location            = azurerm_resource_group.main.location
  tags                = local.tags
}

# Host storage: blob leases (timer schedules, singleton locks) and, on Flex
# Consumption, the deployment container. Blob only: galsync uses no storage
# queues or tables, so no queue or table role is granted.
resource "azurerm_role_assignment" "host_storage" {
  scope                = azurerm_storage_account.host.id
  role_definition_name = "Storage Blob Data Owner"
  principal_id         = azurerm_user_assigned_identity.app.principal_id
  principal_type       = "ServicePrincipal"
}

# Service Bus, scoped to each queue rather than the namespace: every queue
# is both sent to (graph-notify and the timers send pulls, delta-pull sends
# invites, updates and follow-up pulls, invite-worker hands on to updates)
# and received from by its trigger. Receiver covers peek-lock, complete,
# abandon and lock renewal; nothing needs Manage (Data Owner).
locals {
  queue_roles = {
    for pair in setproduct(keys(local.queues), ["Azure Service Bus Data Sender", "Azure Service Bus Data Receiver"]) :
    "${pair[0]}/${pair[1]}" => { queue = pair[0], role = pair[1] }
  }
}

resource "azurerm_role_assignment" "queues" {
  for_each = local.queue_roles

  scope                = azurerm_servicebus_queue.main[each.value.queue].id
  role_definition_name = each.value.role
  principal_id         = azurerm_user_assigned_identity.app.principal_id
  principal_type       = "ServicePrincipal"
}

# Cosmos DB data plane: the built-in Data Contributor SQL role
# (00000000-0000-0000-0000-000000000002: read, write, query items; no
# account or container management), on the galsync database only.
resource "azurerm_cosmosdb_sql_role_assignment" "app" {
  resource_group_name = azurerm_resource_group.main.name
  account_name        = azurerm_cosmosdb_account.main.name
  role_definition_id  = "${azurerm_cosmosdb_account.main.id}/sqlRoleDefinitions/00000000-0000-0000-0000-000000000002"
  principal_id        = azurerm_user_assigned_identity.app.principal_id
  scope               = "${azurerm_cosmosdb_account.main.id}/dbs/${azurerm_cosmosdb_sql_database.main.name}"
}

# Entra-authenticated Application Insights ingestion.
resource "azurerm_role_assignment" "telemetry" {
  scope                = azurerm_application_insights.main.id
  role_definition_name = "Monitoring Metrics Publisher"
  principal_id         = azurerm_user_assigned_identity.app.principal_id
  principal_type       = "ServicePrincipal"
}
