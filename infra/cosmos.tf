# Cosmos DB holds the store: cursors, links, rounds, state, subscriptions and
# the provisioning log. The containers and their partition keys must match
# the store adapter (shared/cosmos); infra/cosmos_test.go compares them.

resource "azurerm_cosmosdb_account" "main" {
  name                = local.cosmos_name
  resource_group_name = azurerm_resource_group.main.name
  location            = azurerm_resource_group.main.location
  offer_type          = "Standard"
  kind                = "GlobalDocumentDB"

  # Keys are off: the app signs in with the managed identity and the
  # built-in data contributor role (identity.tf). Nothing secret in state
  # is used by anything.
  local_authentication_enabled = false
  minimal_tls_version          = "Tls12"

  # Serverless by default: galsync's load is bursts (a delta round) and
  # long idle periods, which serverless bills by the request.
  dynamic "capabilities" {
    for_each = var.cosmos_serverless ? ["EnableServerless"] : []
    content {
      name = capabilities.value
    }
  }

  # Session consistency: a writer reads its own writes, and every update
  # is ETag-guarded, so stronger levels would add cost and nothing else.
  consistency_policy {
    consistency_level = "Session"
  }

  geo_location {
    location          = azurerm_resource_group.main.location
    failover_priority = 0
  }

  tags = local.tags
}

resource "azurerm_cosmosdb_sql_database" "main" {
  name                = var.cosmos_database_name
  resource_group_name = azurerm_resource_group.main.name
  account_name        = azurerm_cosmosdb_account.main.name

  # Provisioned accounts share autoscale throughput across the containers;
  # serverless accounts take no throughput at all.
  dynamic "autoscale_settings" {
    for_each = var.cosmos_serverless ? [] : [var.cosmos_max_throughput]
    content {
      max_throughput = autoscale_settings.value
    }
  }
}

locals {
  # name => partition key path and default TTL in seconds (null: TTL off).
  # Mirrors cosmos.Containers in shared/cosmos (infra/cosmos_test.go
  # compares them). The provisioning log expires after the same retention
  # galsync is told (GALSYNC_LOG_RETENTION in functions.tf).
  cosmos_containers = {
    cursors       = { partition_key = "/direction", default_ttl = null }
    links         = { partition_key = "/direction", default_ttl = null }
    rounds        = { partition_key = "/direction", default_ttl = null }
    state         = { partition_key = "/direction", default_ttl = null }
    subscriptions = { partition_key = "/tenant", default_ttl = null }
    log           = { partition_key = "/direction", default_ttl = var.provisioning_log_retention_days * 86400 }
  }
}

resource "azurerm_cosmosdb_sql_container" "main" {
  for_each = local.cosmos_containers

  name                  = each.key
  resource_group_name   = azurerm_resource_group.main.name
  account_name          = azurerm_cosmosdb_account.main.name
  database_name         = azurerm_cosmosdb_sql_database.main.name
  partition_key_paths   = [each.value.partition_key]
  partition_key_version = 2
  default_ttl           = each.value.default_ttl
}
