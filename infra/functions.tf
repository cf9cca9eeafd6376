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
  maximum_elastic_worker_count = var.hosting_plan == "premium" ? var.premium_maximum_workers : null
  tags                         = local.tags
}

# --- App settings ---------------------------------------------------------------
# Every app setting the app gets is listed in the app_settings_* locals
# below, and nowhere else: infra/settings_test.go reads these blocks and
# checks them against the settings the code reads (docs/deploy.md lists the
# ones left to their defaults).
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
    # Host storage over the managed identity. AzureWebJobsStorage itself is
    # set empty on purpose: azurerm (issue hashicorp/terraform-provider-azurerm#29693)
    # otherwise injects a key-less connection string that shadows the
    # identity-based settings on Flex Consumption.
    "AzureWebJobsStorage"              = ""
    "AzureWebJobsStorage__accountName" = azurerm_storage_account.host.name
    "AzureWebJobsStorage__credential"  = "managedidentity"
    "AzureWebJobsStorage__clientId"    = azurerm_user_assigned_identity.app.client_id

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

    # galsync itself (shared/config).
    "GALSYNC_TOPOLOGY"              = local.topology_json
    "GALSYNC_HOME_CLOUD"            = var.home_cloud
    "GALSYNC_QUEUE_BACKEND"         = "servicebus"
    "GALSYNC_STORE_BACKEND"         = "cosmos"
    "GALSYNC_DELTA_SCHEDULE"        = var.delta_schedule
    "GALSYNC_SUBSCRIPTION_SCHEDULE" = var.subscription_schedule
    "GALSYNC_NOTIFY_URL"            = var.change_notifications ? local.webhook_urls["graph-notify"] : ""
    "GALSYNC_LIFECYCLE_URL"         = var.change_notifications ? local.webhook_urls["graph-lifecycle"] : ""
    "GALSYNC_LOG_RETENTION"         = "${var.provisioning_log_retention_days * 24}h"
    "GALSYNC_LOG_LEVEL"             = var.log_level
    "GALSYNC_LOG_FORMAT"            = "json"

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
  app_settings_flex = merge(local.app_settings_common, var.extra_app_settings)

  # Elastic Premium runs the package from the blob container by URL, read
  # with the managed identity: no Azure Files content share (which would
  # need an account key).
  app_settings_premium = merge(local.app_settings_common, {
    "WEBSITE_RUN_FROM_PACKAGE"                     = "${azurerm_storage_account.host.primary_blob_endpoint}${azurerm_storage_container.package.name}/${var.package_blob_name}"
    "WEBSITE_RUN_FROM_PACKAGE_BLOB_MI_RESOURCE_ID" = azurerm_user_assigned_identity.app.id
  }, var.extra_app_settings)
}

# --- Function App: Flex Consumption (default) -----------------------------------
resource "azurerm_function_app_flex_consumption" "main" {
  count = var.hosting_plan == "flex" ? 1 : 0

  name                = local.app_name
  resource_group_name = azurerm_resource_group.main.name
  location            = azurerm_resource_group.main.location
  service_plan_id     = azurerm_service_plan.main.id

  # The custom handler: the host starts the binary named in host.json.
  # `az functionapp list-flexconsumption-runtimes --location <region>
  # --runtime custom` lists the versions a region accepts.
  runtime_name    = "custom"
  runtime_version = var.flex_custom_runtime_version

  # Deployment storage, reached with the managed identity.
  storage_container_type            = "blobContainer"
  storage_container_endpoint        = "${azurerm_storage_account.host.primary_blob_endpoint}${azurerm_storage_container.package.name}"
  storage_authentication_type       = "UserAssignedIdentity"
  storage_user_assigned_identity_id = azurerm_user_assigned_identity.app.id

  maximum_instance_count = var.flex_maximum_instance_count
  instance_memory_in_mb  = var.flex_instance_memory_mb

  https_only = true
  # Deployments authenticate with Entra ID (az functionapp deployment),
  # never with publishing-profile passwords.
  webdeploy_publish_basic_authentication_enabled = false

  identity {
    type         = "UserAssigned"
    identity_ids = [azurerm_user_assigned_identity.app.id]
  }

  app_settings = local.app_settings_flex

  site_config {
    application_insights_connection_string = azurerm_application_insights.main.connection_string
    minimum_tls_version                    = "1.2"
  }

  tags = local.tags

  # The role assignments must exist before the host starts, or its first
  # start fails on storage and Service Bus.
  depends_on = [
    azurerm_role_assignment.host_storage,
    azurerm_role_assignment.queues,
    azurerm_cosmosdb_sql_role_assignment.app,
  ]
}

# --- Function App: Elastic Premium (var.hosting_plan = "premium") ----------------
resource "azurerm_linux_function_app" "main" {
  count = var.hosting_plan == "premium" ? 1 : 0

  name                = local.app_name
  resource_group_name = azurerm_resource_group.main.name
  location            = azurerm_resource_group.main.location
  service_plan_id     = azurerm_service_plan.main.id

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
    elastic_instance_minimum               = 1
    pre_warmed_instance_count              = 1
    minimum_tls_version                    = "1.2"
    ftps_state                             = "Disabled"
  }

  tags = local.tags

  depends_on = [
    azurerm_role_assignment.host_storage,
    azurerm_role_assignment.queues,
    azurerm_cosmosdb_sql_role_assignment.app,
  ]
}

locals {
  # Whichever of the two apps exists.
  function_app_id               = one(concat(azurerm_function_app_flex_consumption.main[*].id, azurerm_linux_function_app.main[*].id))
  function_app_default_hostname = one(concat(azurerm_function_app_flex_consumption.main[*].default_hostname, azurerm_linux_function_app.main[*].default_hostname))
}
