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
# Consumption, the deployment container. "The Storage Blob Data Owner role
# covers the basic needs of Functions host storage"; queue rights are for
# blob triggers, which galsync has none of, so no queue or table role is
# granted (https://learn.microsoft.com/azure/azure-functions/functions-reference#connecting-to-host-storage-with-an-identity).
resource "azurerm_role_assignment" "host_storage" {
  scope                = azurerm_storage_account.host.id
  role_definition_name = "Storage Blob Data Owner"
  principal_id         = azurerm_user_assigned_identity.app.principal_id
  principal_type       = "ServicePrincipal"
}

# Service Bus, scoped to each queue rather than the namespace.
#   - A queue a function is triggered by (function.json "serviceBusTrigger"):
#     Azure Service Bus Data Owner, the role the Functions docs name for a
#     trigger besides Data Receiver
#     (https://learn.microsoft.com/azure/azure-functions/functions-bindings-service-bus, "Grant permission to the identity")
#     and the one holding Manage rights: "use Manage rights on resources for
#     the most efficient scaling. With Listen rights scaling reverts to
#     incremental scale because the queue or topic length can't be used to
#     inform scaling decisions"
#     (https://learn.microsoft.com/azure/azure-functions/functions-target-based-scaling#service-bus-queues-and-topics).
#     The scale controller reads the queue length with the connection the
#     trigger names, GALSYNC_SERVICEBUS, which galsync's own clients share;
#     the role is scoped to those queues alone.
#   - Any other queue ("parked": galsync sets messages aside there and lists
#     and replays them): Data Sender + Data Receiver, galsync's least
#     privilege (send; peek-lock, complete and the dead-letter subqueue)
#     (https://learn.microsoft.com/azure/service-bus-messaging/service-bus-managed-service-identity).
locals {
  triggered_queues = toset(flatten([
    for f in fileset("${path.module}/../functions", "*/function.json") : [
      for b in jsondecode(file("${path.module}/../functions/${f}")).bindings : b.queueName if b.type == "serviceBusTrigger"
    ]
  ]))
  queue_roles = merge(
    { for q in keys(local.queues) : "${q}/Azure Service Bus Data Owner" => { queue = q, role = "Azure Service Bus Data Owner" } if contains(local.triggered_queues, q) },
    { for pair in setproduct([for q in keys(local.queues) : q if !contains(local.triggered_queues, q)], ["Azure Service Bus Data Sender", "Azure Service Bus Data Receiver"]) :
    "${pair[0]}/${pair[1]}" => { queue = pair[0], role = pair[1] } },
  )
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
