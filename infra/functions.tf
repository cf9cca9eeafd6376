# The Function App and what the Functions host itself needs: its storage
# (identity-based, no account key anywhere), the plan, and telemetry.

# --- Host storage -----------------------------------------------------------
# The host keeps timer schedules, singleton locks and (Flex Consumption) the
# deployed package here. Shared keys are off: the host reaches it with the
# managed identity (AzureWebJobsStorage__* below), so no key is in state.
resource "azurerm_storage_account" "host" {
  name                            = local.storage_name
  resource_group_name             = azurerm_resource_group.main.name
  location                        = azurerm_resource_group.main.location
  account_tier                    = "Standard"
  account_replication_type        = "LRS"
  min_tls_version                 = "TLS1_2"
  shared_access_key_enabled       = false
  default_to_oauth_authentication = true
  allow_nested_items_to_be_public = false
  tags                            = local.tags
}

# The deployed package: Flex Consumption one-deploy writes it here; Elastic
# Premium runs it from here by URL (WEBSITE_RUN_FROM_PACKAGE).
resource "azurerm_storage_container" "package" {
  name                  = "app-package"
  storage_account_id    = azurerm_storage_account.host.id
  container_access_type = "private"
}

# --- Telemetry ----------------------------------------------------------------
resource "azurerm_log_analytics_workspace" "main" {
  name                = local.workspace_name
  resource_group_name = azurerm_resource_group.main.name
  location            = azurerm_resource_group.main.location
  sku                 = "PerGB2018"
  retention_in_days   = var.log_retention_days
  tags                = local.tags
}

# Local (instrumentation-key) authentication is off: the host sends
# telemetry with the managed identity (APPLICATIONINSIGHTS_AUTHENTICATION_STRING
# and the Monitoring Metrics Publisher role in identity.tf).
resource "azurerm_application_insights" "main" {
  name                         = local.insights_name
  resource_group_name          = azurerm_resource_group.main.name
  location                     = azurerm_resource_group.main.location
  workspace_id                 = azurerm_log_analytics_workspace.main.id
  application_type             = "other"
  local_authentication_enabled = false
  tags                         = local.tags
}

# --- Plan ---------------------------------------------------------------------
# FC1 (Flex Consumption) by default: scale to zero, per-function scaling,
# identity-based deployment storage. EP1..EP3 (Elastic Premium) when
# var.hosting_plan = "premium": always-warm instances, and the plan to use
# where Flex Consumption is not offered (some regions, sovereign clouds).
resource "azurerm_service_plan" "main" {
  name                         = "asp-${var.name}"
  resource_group_name          = azurerm_resource_group.main.name
  location                     = azurerm_resource_group.main.location
  os_type                      = "Linux"
  sku_name                     = local.service_plan_sku
  maximum_elastic_worker_count = var.hosting_plan == "premium" ? var.maximum_instance_count : null
  tags                         = local.tags
}

# --- Scale and Graph's budget -----------------------------------------------------
# docs/capacity.md has the arithmetic. Graph's write budget is per app per
# target tenant; galsync's in-process pacer (shared/pace) splits it evenly
# between the processes that may write at once, GALSYNC_MAX_INSTANCES:
#   - Flex Consumption scales each function group on its own, and "the
#     maximum instance count applies to on-demand instances in each
#     per-function scale group ... Always ready instances aren't limited by
#     the maximum instance count and don't count toward it"
#     (https://learn.microsoft.com/azure/azure-functions/event-driven-scaling#limit-scale-out).
#     Two groups write users in bulk: invite-worker and update-worker.
#     delta-pull and the timers only read users; the HTTP group writes only
#     for provision on demand, one user at a time, and is left out of the
#     split so the bulk writers get the whole budget (a rare overshoot
#     answers 429 with Retry-After, which the pacer honours).
#   - Elastic Premium runs every function on every instance, at most the
#     app's scale limit.
locals {
  graph_writer_groups  = 2
  max_writer_instances = var.hosting_plan == "flex" ? local.graph_writer_groups * var.maximum_instance_count : var.maximum_instance_count
}

# --- App settings ---------------------------------------------------------------
# Every app setting the app gets is listed in the app_settings_* locals
# below, and nowhere else: infra/settings_test.go reads these blocks and
# checks them against the settings the code reads, and
# infra/tests/galsync.tftest.hcl checks the planned values (docs/deploy.md
# lists the ones left to their defaults).
locals {
  servicebus_fqdn = trimsuffix(trimprefix(azurerm_servicebus_namespace.main.endpoint, "https://"), ":443/")

  # Public hostname of the app, known before it exists so the app can be
  # told its own webhook URLs (GALSYNC_NOTIFY_URL) without a cycle. A check
  # in outputs.tf compares it with the real default hostname after apply.
  app_hostname = var.public_hostname != "" ? var.public_hostname : "${local.app_name}.${local.cloud.sites_suffix}"

  # Webhook routes come from the function folders themselves: the route in
  # function.json if it sets one, else the folder name; the prefix from
  # host.json (extensions.http.routePrefix, "api" by default).
  route_prefix = try(jsondecode(file("${path.module}/../host.json")).extensions.http.routePrefix, "api")
  webhook_routes = {
    for fn in ["graph-notify", "graph-lifecycle"] : fn => try(
      one([for b in jsondecode(file("${path.module}/../functions/${fn}/function.json")).bindings : b.route if b.type == "httpTrigger" && try(b.route, "") != ""]),
      fn,
    )
  }
  webhook_urls = { for fn, route in local.webhook_routes : fn => "https://${local.app_hostname}/${local.route_prefix}/${route}" }

  app_settings_common = {
    # Host storage over the managed identity: the blob service URI (not
    # __accountName, which "doesn't work when the storage account is in a
    # sovereign cloud", and which the URI overrides where the provider adds
    # it) with the user-assigned identity; Storage Blob Data Owner
    # (identity.tf) "covers the basic needs of Functions host storage"
    # (https://learn.microsoft.com/azure/azure-functions/functions-reference#connecting-to-host-storage-with-an-identity).
    # AzureWebJobsStorage itself is never set: an empty or key-less value is
    # taken as a connection string and breaks the host
    # (https://github.com/Azure/azure-functions-host/issues/11796).
    "AzureWebJobsStorage__blobServiceUri" = azurerm_storage_account.host.primary_blob_endpoint
    "AzureWebJobsStorage__credential"     = "managedidentity"
    "AzureWebJobsStorage__clientId"       = azurerm_user_assigned_identity.app.client_id

    # Entra-authenticated telemetry (local authentication is off).
    "APPLICATIONINSIGHTS_AUTHENTICATION_STRING" = "ClientId=${azurerm_user_assigned_identity.app.client_id};Authorization=AAD"

    # galsync's own traces and metrics to an OpenTelemetry Collector that
    # forwards to Azure Monitor (docs/telemetry.md); empty: off. Per-signal
    # endpoints, so the host (which exports whenever OTEL_EXPORTER_OTLP_ENDPOINT
    # is set) keeps to Application Insights alone.
    "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"                       = var.otlp_endpoint == "" ? "" : "${trimsuffix(var.otlp_endpoint, "/")}/v1/traces"
    "OTEL_EXPORTER_OTLP_METRICS_ENDPOINT"                      = var.otlp_endpoint == "" ? "" : "${trimsuffix(var.otlp_endpoint, "/")}/v1/metrics"
    "OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE"        = "delta"
    "OTEL_EXPORTER_OTLP_METRICS_DEFAULT_HISTOGRAM_AGGREGATION" = "base2_exponential_bucket_histogram"

    # The other factor of the concurrency: host.json's maxConcurrentCalls,
    # overridden by app setting
    # (https://learn.microsoft.com/azure/azure-functions/functions-host-json#override-hostjson-values)
    # so the pair is chosen in one place (docs/capacity.md).
    "AzureFunctionsJobHost__extensions__serviceBus__maxConcurrentCalls" = tostring(var.service_bus_max_concurrent_calls)

    # galsync itself (shared/config).
    "GALSYNC_TOPOLOGY"              = local.topology_json
    "GALSYNC_HOME_CLOUD"            = var.home_cloud
    "GALSYNC_QUEUE_BACKEND"         = "servicebus"
    "GALSYNC_STORE_BACKEND"         = "cosmos"
    "GALSYNC_DELTA_SCHEDULE"        = var.delta_schedule
    "GALSYNC_SUBSCRIPTION_SCHEDULE" = var.subscription_schedule
    "GALSYNC_SWEEP_SCHEDULE"        = var.sweep_schedule
    "GALSYNC_FULL_SYNC_SCHEDULE"    = var.full_sync_schedule
    "GALSYNC_NOTIFY_URL"            = var.change_notifications ? local.webhook_urls["graph-notify"] : ""
    "GALSYNC_LIFECYCLE_URL"         = var.change_notifications ? local.webhook_urls["graph-lifecycle"] : ""
    "GALSYNC_LOG_RETENTION"         = "${var.provisioning_log_retention_days * 24}h"
    "GALSYNC_LOG_LEVEL"             = var.log_level
    "GALSYNC_LOG_FORMAT"            = "json"
    "GALSYNC_MAX_INSTANCES"         = tostring(local.max_writer_instances)

    # Identity-based connections, in the Functions spelling, so the Service
    # Bus trigger (function.json "connection": "GALSYNC_SERVICEBUS") and
    # galsync's own clients read the same settings (shared/config/connections.go).
    "GALSYNC_SERVICEBUS__fullyQualifiedNamespace" = local.servicebus_fqdn
    "GALSYNC_SERVICEBUS__credential"              = "managedidentity"
    "GALSYNC_SERVICEBUS__clientId"                = azurerm_user_assigned_identity.app.client_id
    "GALSYNC_COSMOS__accountEndpoint"             = azurerm_cosmosdb_account.main.endpoint
    "GALSYNC_COSMOS__clientId"                    = azurerm_user_assigned_identity.app.client_id
    "GALSYNC_COSMOS_DATABASE"                     = azurerm_cosmosdb_sql_database.main.name
  }

  # Flex Consumption sets the runtime (custom) and the package location in
  # the site's functionAppConfig, and rejects FUNCTIONS_WORKER_RUNTIME,
  # FUNCTIONS_EXTENSION_VERSION and WEBSITE_RUN_FROM_PACKAGE as settings.
  # The telemetry connection string is a setting here (azurerm puts it in
  # site_config for Premium). Cross-cloud certificates are Key Vault
  # references (keyvault.tf).
  app_settings_flex = merge(local.app_settings_common, {
    "APPLICATIONINSIGHTS_CONNECTION_STRING" = azurerm_application_insights.main.connection_string
  }, local.certificate_settings, var.extra_app_settings)

  # Elastic Premium runs the package from the blob container by URL, read
  # with the managed identity: no Azure Files content share (which would
  # need an account key).
  app_settings_premium = merge(local.app_settings_common, {
    "WEBSITE_RUN_FROM_PACKAGE"                     = "${azurerm_storage_account.host.primary_blob_endpoint}${azurerm_storage_container.package.name}/${var.package_blob_name}"
    "WEBSITE_RUN_FROM_PACKAGE_BLOB_MI_RESOURCE_ID" = azurerm_user_assigned_identity.app.id
  }, local.certificate_settings, var.extra_app_settings)
}

# --- Function App: Flex Consumption (default) -----------------------------------
# The site is written through azapi, the ARM API itself, because azurerm's
# azurerm_function_app_flex_consumption (5.2.0) cannot express a working
# keyless app: it always adds an AzureWebJobsStorage connection string built
# without a key, which shadows the identity-based settings
# (https://github.com/hashicorp/terraform-provider-azurerm/issues/29693), and
# it has no keyVaultReferenceIdentity, without which Key Vault references
# resolve with a system-assigned identity the app does not have
# (https://github.com/hashicorp/terraform-provider-azurerm/issues/28928;
# https://learn.microsoft.com/azure/app-service/app-service-key-vault-references#access-vaults-with-a-user-assigned-identity).
# Microsoft.Web/sites 2023-12-01 is the first API version with
# functionAppConfig (Flex Consumption's deployment, runtime and scale).
resource "azapi_resource" "flex" {
  count = var.hosting_plan == "flex" ? 1 : 0

  type      = "Microsoft.Web/sites@2023-12-01"
  name      = local.app_name
  parent_id = azurerm_resource_group.main.id
  location  = azurerm_resource_group.main.location
  tags      = local.tags

  identity {
    type         = "UserAssigned"
    identity_ids = [azurerm_user_assigned_identity.app.id]
  }

  body = {
    kind = "functionapp,linux"
    properties = {
      serverFarmId = azurerm_service_plan.main.id
      httpsOnly    = true
      # Key Vault references (the cross-cloud certificates) resolve with the
      # user-assigned identity.
      keyVaultReferenceIdentity = azurerm_user_assigned_identity.app.id
      functionAppConfig = {
        # Deployment storage, reached with the managed identity.
        deployment = {
          storage = {
            type  = "blobContainer"
            value = "${azurerm_storage_account.host.primary_blob_endpoint}${azurerm_storage_container.package.name}"
            authentication = {
              type                           = "UserAssignedIdentity"
              userAssignedIdentityResourceId = azurerm_user_assigned_identity.app.id
            }
          }
        }
        # The custom handler: the host starts the binary named in host.json.
        # `az functionapp list-flexconsumption-runtimes --location <region>
        # --runtime custom` lists the versions a region accepts.
        runtime = {
          name    = "custom"
          version = var.flex_custom_runtime_version
        }
        scaleAndConcurrency = {
          maximumInstanceCount = var.maximum_instance_count
          instanceMemoryMB     = var.flex_instance_memory_mb
          # The HTTP group answers Graph's notifications (3 s) and
          # validation requests (10 s): an always-ready instance spares them
          # a cold start (https://learn.microsoft.com/azure/azure-functions/flex-consumption-plan#always-ready-instances).
          alwaysReady = var.http_always_ready_instances > 0 ? [{ name = "http", instanceCount = var.http_always_ready_instances }] : []
        }
      }
      siteConfig = {
        minTlsVersion = "1.2"
        appSettings   = [for name in sort(keys(local.app_settings_flex)) : { name = name, value = local.app_settings_flex[name] }]
      }
    }
  }

  response_export_values = ["properties.defaultHostName"]

  # The role assignments must exist before the host starts, or its first
  # start fails on storage and Service Bus.
  depends_on = [
    azurerm_role_assignment.host_storage,
    azurerm_role_assignment.queues,
    azurerm_role_assignment.key_vault_secrets,
    azurerm_cosmosdb_sql_role_assignment.app,
  ]
}

# Deployments authenticate with Entra ID (az functionapp deployment), never
# with publishing-profile passwords: basic authentication off for both
# publishing endpoints.
resource "azapi_resource" "flex_basic_auth" {
  for_each = var.hosting_plan == "flex" ? toset(["scm", "ftp"]) : toset([])

  type      = "Microsoft.Web/sites/basicPublishingCredentialsPolicies@2023-12-01"
  name      = each.key
  parent_id = azapi_resource.flex[0].id
  body = {
    properties = { allow = false }
  }
}

# --- Function App: Elastic Premium (var.hosting_plan = "premium") ----------------
resource "azurerm_linux_function_app" "main" {
  count = var.hosting_plan == "premium" ? 1 : 0

  name                = local.app_name
  resource_group_name = azurerm_resource_group.main.name
  location            = azurerm_resource_group.main.location
  service_plan_id     = azurerm_service_plan.main.id

  # The provider adds AzureWebJobsStorage__accountName from these; the
  # __blobServiceUri in app_settings_common takes precedence over it ("If
  # this property is given explicitly, it will be honored over the
  # AccountName property": StorageServiceUriOptions in
  # https://github.com/Azure/azure-webjobs-sdk), which keeps sovereign clouds
  # right.
  storage_account_name          = azurerm_storage_account.host.name
  storage_uses_managed_identity = true
  content_share_force_disabled  = true
  builtin_logging_enabled       = false
  functions_extension_version   = "~4"

  https_only                                     = true
  ftp_publish_basic_authentication_enabled       = false
  webdeploy_publish_basic_authentication_enabled = false
  key_vault_reference_identity_id                = azurerm_user_assigned_identity.app.id

  identity {
    type         = "UserAssigned"
    identity_ids = [azurerm_user_assigned_identity.app.id]
  }

  app_settings = local.app_settings_premium

  site_config {
    application_stack {
      use_custom_runtime = true
    }
    application_insights_connection_string = azurerm_application_insights.main.connection_string
    # Always-ready instances (at least one on Elastic Premium) and the app's
    # scale limit, which GALSYNC_MAX_INSTANCES follows
    # (https://learn.microsoft.com/azure/azure-functions/event-driven-scaling#limit-scale-out).
    elastic_instance_minimum  = max(1, var.http_always_ready_instances)
    app_scale_limit           = var.maximum_instance_count
    pre_warmed_instance_count = 1
    minimum_tls_version       = "1.2"
    ftps_state                = "Disabled"
  }

  tags = local.tags

  depends_on = [
    azurerm_role_assignment.host_storage,
    azurerm_role_assignment.queues,
    azurerm_role_assignment.key_vault_secrets,
    azurerm_cosmosdb_sql_role_assignment.app,
  ]
}

locals {
  # Whichever of the two apps exists.
  function_app_id               = one(concat(azapi_resource.flex[*].id, azurerm_linux_function_app.main[*].id))
  function_app_default_hostname = one(concat([for a in azapi_resource.flex : a.output.properties.defaultHostName], azurerm_linux_function_app.main[*].default_hostname))
}
