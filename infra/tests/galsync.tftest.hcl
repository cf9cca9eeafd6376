# terraform test, offline (make infra-check): the configuration applied to
# mock providers, and what it would deploy held to what the code declares
# (tests/testdata/code.json, written by infra/codefacts_test.go from
# shared/config, shared/cosmos, shared/galsync and functions/).
#
# Mock providers answer with made-up computed values; the defaults below
# only give them Azure's shapes, because the real providers still validate
# what the configuration passes on (resource ids, UUIDs).

mock_provider "azurerm" {
  mock_resource "azurerm_resource_group" {
    defaults = { id = "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg-galsync" }
  }
  mock_resource "azurerm_user_assigned_identity" {
    defaults = {
      id           = "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg-galsync/providers/Microsoft.ManagedIdentity/userAssignedIdentities/id-galsync"
      client_id    = "aaaaaaaa-aaaa-aaaa-aaaa-aaaaaaaaaaaa"
      principal_id = "bbbbbbbb-bbbb-bbbb-bbbb-bbbbbbbbbbbb"
      tenant_id    = "11111111-1111-1111-1111-111111111111"
    }
  }
  mock_resource "azurerm_storage_account" {
    defaults = {
      id                    = "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg-galsync/providers/Microsoft.Storage/storageAccounts/stgalsync8f49c0"
      primary_blob_endpoint = "https://stgalsync8f49c0.blob.core.windows.net/"
    }
  }
  mock_resource "azurerm_storage_container" {
    defaults = {
      id                  = "https://stgalsync8f49c0.blob.core.windows.net/app-package"
      resource_manager_id = "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg-galsync/providers/Microsoft.Storage/storageAccounts/stgalsync8f49c0/blobServices/default/containers/app-package"
    }
  }
  mock_resource "azurerm_service_plan" {
    defaults = { id = "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg-galsync/providers/Microsoft.Web/serverFarms/asp-galsync" }
  }
  mock_resource "azurerm_log_analytics_workspace" {
    defaults = { id = "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg-galsync/providers/Microsoft.OperationalInsights/workspaces/log-galsync" }
  }
  mock_resource "azurerm_application_insights" {
    defaults = {
      id                = "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg-galsync/providers/Microsoft.Insights/components/appi-galsync"
      connection_string = "InstrumentationKey=cccccccc-cccc-cccc-cccc-cccccccccccc;IngestionEndpoint=https://westeurope-5.in.applicationinsights.azure.com/"
    }
  }
  mock_resource "azurerm_servicebus_namespace" {
    defaults = {
      id       = "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg-galsync/providers/Microsoft.ServiceBus/namespaces/sb-galsync-8f49c0"
      endpoint = "https://sb-galsync-8f49c0.servicebus.windows.net:443/"
    }
  }
  mock_resource "azurerm_servicebus_queue" {
    defaults = { id = "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg-galsync/providers/Microsoft.ServiceBus/namespaces/sb-galsync-8f49c0/queues/queue" }
  }
  mock_resource "azurerm_cosmosdb_account" {
    defaults = {
      id       = "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg-galsync/providers/Microsoft.DocumentDB/databaseAccounts/cosmos-galsync-8f49c0"
      endpoint = "https://cosmos-galsync-8f49c0.documents.azure.com:443/"
    }
  }
  mock_resource "azurerm_cosmosdb_sql_database" {
    defaults = { id = "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg-galsync/providers/Microsoft.DocumentDB/databaseAccounts/cosmos-galsync-8f49c0/sqlDatabases/galsync" }
  }
  mock_resource "azurerm_key_vault" {
    defaults = {
      id        = "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg-galsync/providers/Microsoft.KeyVault/vaults/kvgalsync8f49c0"
      vault_uri = "https://kvgalsync8f49c0.vault.azure.net/"
    }
  }
  mock_resource "azurerm_linux_function_app" {
    defaults = {
      id               = "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg-galsync/providers/Microsoft.Web/sites/func-galsync-8f49c0"
      default_hostname = "func-galsync-8f49c0.azurewebsites.net"
    }
  }
}

mock_provider "azapi" {
  mock_resource "azapi_resource" {
    defaults = {
      id     = "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg-galsync/providers/Microsoft.Web/sites/func-galsync-8f49c0"
      output = { properties = { defaultHostName = "func-galsync-8f49c0.azurewebsites.net" } }
    }
  }
}

mock_provider "azuread" {
  mock_data "azuread_service_principal" {
    defaults = {
      object_id = "dddddddd-dddd-dddd-dddd-dddddddddddd"
      app_role_ids = {
        "User.Read.All"      = "df021288-bdef-4463-88db-98f22de89214"
        "User.Invite.All"    = "09850681-111b-4a89-9bed-3f2cae46d706"
        "User.ReadWrite.All" = "741f803b-c850-494e-b5df-cde7c675a1ca"
      }
    }
  }
  mock_resource "azuread_application_registration" {
    defaults = {
      id        = "/applications/eeeeeeee-eeee-eeee-eeee-eeeeeeeeeeee"
      client_id = "ffffffff-ffff-ffff-ffff-ffffffffffff"
    }
  }
}

variables {
  subscription_id = "00000000-0000-0000-0000-000000000000"
  home_tenant_id  = "11111111-1111-1111-1111-111111111111"
  location        = "westeurope"
  tenants = {
    contoso  = { tenant_id = "11111111-1111-1111-1111-111111111111", cloud = "public", domain = "contoso.onmicrosoft.com" }
    fabrikam = { tenant_id = "22222222-2222-2222-2222-222222222222", cloud = "public", domain = "fabrikam.onmicrosoft.com" }
  }
  directions = [{
    name              = "contoso-to-fabrikam"
    source            = "contoso"
    target            = "fabrikam"
    inviteRedirectUrl = "https://myapps.microsoft.com"
    deprovision       = { action = "disable", threshold = { percent = 10 } }
  }]
}

# --- Flex Consumption, defaults -------------------------------------------------
run "flex" {
  # App settings: the keyless host storage.
  assert {
    condition     = !contains([for s in azapi_resource.flex[0].body.properties.siteConfig.appSettings : s.name], "AzureWebJobsStorage")
    error_message = "The Flex app gets an AzureWebJobsStorage setting; an empty or key-less one breaks the host."
  }
  assert {
    condition = { for s in azapi_resource.flex[0].body.properties.siteConfig.appSettings : s.name => s.value if startswith(s.name, "AzureWebJobsStorage") } == {
      "AzureWebJobsStorage__blobServiceUri" = "https://stgalsync8f49c0.blob.core.windows.net/"
      "AzureWebJobsStorage__credential"     = "managedidentity"
      "AzureWebJobsStorage__clientId"       = "aaaaaaaa-aaaa-aaaa-aaaa-aaaaaaaaaaaa"
    }
    error_message = "Host storage is not the identity-based blob service URI with the user-assigned identity."
  }
  assert {
    condition     = alltrue([for s in azapi_resource.flex[0].body.properties.siteConfig.appSettings : length(regexall("(?i)(AccountKey|SharedAccessKey|ClientSecret)=", s.value)) == 0])
    error_message = "An app setting carries a key or secret."
  }
  # App settings against the settings the code reads.
  assert {
    condition     = length(setsubtract([for s in azapi_resource.flex[0].body.properties.siteConfig.appSettings : s.name if startswith(s.name, "GALSYNC_")], jsondecode(file("tests/testdata/code.json")).settings_read)) == 0
    error_message = "infra/ sets GALSYNC_* settings the code does not read: ${join(", ", setsubtract([for s in azapi_resource.flex[0].body.properties.siteConfig.appSettings : s.name if startswith(s.name, "GALSYNC_")], jsondecode(file("tests/testdata/code.json")).settings_read))}"
  }
  assert {
    condition     = alltrue([for r in jsondecode(file("tests/testdata/code.json")).host_refs : try({ for s in azapi_resource.flex[0].body.properties.siteConfig.appSettings : s.name => s.value }[r], "") != ""])
    error_message = "A %NAME% a function.json refers to is not set: the host would not load that function."
  }
  assert {
    condition     = alltrue([for c in jsondecode(file("tests/testdata/code.json")).trigger_connections : try({ for s in azapi_resource.flex[0].body.properties.siteConfig.appSettings : s.name => s.value }["${c}__fullyQualifiedNamespace"], "") == "sb-galsync-8f49c0.servicebus.windows.net"])
    error_message = "A trigger's connection does not name the Service Bus namespace."
  }
  assert {
    condition = [for s in azapi_resource.flex[0].body.properties.siteConfig.appSettings : s.value if contains(["GALSYNC_QUEUE_BACKEND", "GALSYNC_STORE_BACKEND", "GALSYNC_MAX_INSTANCES", "AzureFunctionsJobHost__extensions__serviceBus__maxConcurrentCalls"], s.name)] == [
      "8", "4", "servicebus", "cosmos",
    ]
    error_message = "Backends or concurrency: want maxConcurrentCalls 8, GALSYNC_MAX_INSTANCES 4 (2 writing function groups x 2 instances), Service Bus and Cosmos DB."
  }
  assert {
    condition     = [for t in jsondecode(one([for s in azapi_resource.flex[0].body.properties.siteConfig.appSettings : s.value if s.name == "GALSYNC_TOPOLOGY"])).tenants : t.auth.method] == ["managedIdentity", "federated"]
    error_message = "The home tenant signs in with the managed identity, the partner of the same cloud through the federated app."
  }
  # Scale, always ready, Key Vault references.
  assert {
    condition     = azapi_resource.flex[0].body.properties.functionAppConfig.scaleAndConcurrency.maximumInstanceCount == 2 && jsonencode(azapi_resource.flex[0].body.properties.functionAppConfig.scaleAndConcurrency.alwaysReady) == jsonencode([{ instanceCount = 1, name = "http" }])
    error_message = "Flex scale: want 2 instances per group and one always-ready HTTP instance."
  }
  assert {
    condition     = azapi_resource.flex[0].body.properties.keyVaultReferenceIdentity == azurerm_user_assigned_identity.app.id && azapi_resource.flex[0].body.properties.functionAppConfig.deployment.storage.authentication.userAssignedIdentityResourceId == azurerm_user_assigned_identity.app.id
    error_message = "Key Vault references and deployment storage must use the user-assigned identity."
  }
  assert {
    condition     = { for k, r in azapi_resource.flex_basic_auth : k => r.body.properties.allow } == { ftp = false, scm = false }
    error_message = "Publishing basic authentication must be off."
  }
  # Roles.
  assert {
    condition = { for k, r in azurerm_role_assignment.queues : k => [r.role_definition_name, r.principal_id, r.scope == azurerm_servicebus_queue.main[split("/", k)[0]].id] } == {
      for k in ["invites/Azure Service Bus Data Owner", "parked/Azure Service Bus Data Receiver", "parked/Azure Service Bus Data Sender", "pulls/Azure Service Bus Data Owner", "updates/Azure Service Bus Data Owner"] : k => [split("/", k)[1], "bbbbbbbb-bbbb-bbbb-bbbb-bbbbbbbbbbbb", true]
    }
    error_message = "Service Bus roles: Data Owner (Manage, for the scale controller) on the triggered queues, Sender + Receiver on parked, for the managed identity: ${jsonencode({ for k, r in azurerm_role_assignment.queues : k => r.role_definition_name })}"
  }
  assert {
    condition = alltrue(concat(
      [for q in jsondecode(file("tests/testdata/code.json")).triggered_queues : contains(keys(azurerm_role_assignment.queues), "${q}/Azure Service Bus Data Owner")],
      [for q in setsubtract(jsondecode(file("tests/testdata/code.json")).queues, jsondecode(file("tests/testdata/code.json")).triggered_queues) : length(setintersection(keys(azurerm_role_assignment.queues), ["${q}/Azure Service Bus Data Sender", "${q}/Azure Service Bus Data Receiver"])) == 2],
    ))
    error_message = "A queue a function is triggered by lacks Data Owner (Manage), or a queue of the code that no function is triggered by lacks Sender + Receiver."
  }
  assert {
    condition     = azurerm_role_assignment.host_storage.role_definition_name == "Storage Blob Data Owner" && azurerm_role_assignment.host_storage.scope == azurerm_storage_account.host.id
    error_message = "Host storage needs Storage Blob Data Owner on the account."
  }
  assert {
    condition     = endswith(azurerm_cosmosdb_sql_role_assignment.app.role_definition_id, "/sqlRoleDefinitions/00000000-0000-0000-0000-000000000002") && endswith(azurerm_cosmosdb_sql_role_assignment.app.scope, "/dbs/galsync")
    error_message = "Cosmos DB: the built-in Data Contributor on the galsync database only."
  }
  assert {
    condition     = length(azurerm_key_vault.certificates) == 0 && length(azurerm_role_assignment.key_vault_secrets) == 0
    error_message = "No certificate tenant, so no Key Vault."
  }
  # Queues.
  assert {
    condition     = alltrue([for q in concat(jsondecode(file("tests/testdata/code.json")).queues, ["parked"]) : contains(keys(azurerm_servicebus_queue.main), q)])
    error_message = "A queue of the code (or parked) is missing: ${jsonencode(keys(azurerm_servicebus_queue.main))}"
  }
  assert {
    condition = { for q, r in azurerm_servicebus_queue.main : q => [r.max_delivery_count, r.lock_duration, r.requires_duplicate_detection, r.duplicate_detection_history_time_window, r.dead_lettering_on_message_expiration, r.requires_session] } == {
      pulls   = [10, "PT5M", true, "PT10M", true, false]
      invites = [10, "PT1M", true, "PT1H", true, false]
      updates = [10, "PT1M", true, "PT1H", true, false]
      parked  = [10, "PT1M", true, "PT1H", true, false]
    }
    error_message = "Queue settings (max delivery count, lock, duplicate detection, window, dead-letter on expiry, sessions) differ from the design."
  }
  assert {
    condition     = local.queues.parked.default_message_ttl == null && local.queues.invites.default_message_ttl == "P14D"
    error_message = "Parked messages must never expire (they wait for an operator); work messages expire after 14 days into their dead-letter queue."
  }
  # Cosmos DB containers against the store adapter.
  assert {
    condition = { for n, c in azurerm_cosmosdb_sql_container.main : n => { partition_key = one(c.partition_key_paths), default_ttl_seconds = coalesce(c.default_ttl, 0) } } == {
      for n, c in jsondecode(file("tests/testdata/code.json")).containers : n => { partition_key = c.partition_key, default_ttl_seconds = c.default_ttl_seconds }
    }
    error_message = "Cosmos DB containers, partition keys or TTLs differ from the store adapter's (shared/cosmos)."
  }
  assert {
    condition     = alltrue([for c in azurerm_cosmosdb_sql_container.main : c.partition_key_version == 2])
    error_message = "The store creates hash v2 partition keys."
  }
  assert {
    condition     = output.graph_budget.max_instances == 4 && output.graph_budget.max_instances * output.graph_budget.max_concurrent_calls <= 600
    error_message = "GALSYNC_MAX_INSTANCES x maxConcurrentCalls must fit 20 writes/s in 30 s."
  }
}

# --- Elastic Premium --------------------------------------------------------------
run "premium" {
  variables {
    hosting_plan           = "premium"
    maximum_instance_count = 4
  }
  assert {
    condition     = !contains(keys(azurerm_linux_function_app.main[0].app_settings), "AzureWebJobsStorage") && azurerm_linux_function_app.main[0].app_settings["AzureWebJobsStorage__blobServiceUri"] == "https://stgalsync8f49c0.blob.core.windows.net/"
    error_message = "Premium: no AzureWebJobsStorage, identity-based blob service URI."
  }
  assert {
    condition     = alltrue([for v in values(azurerm_linux_function_app.main[0].app_settings) : length(regexall("(?i)(AccountKey|SharedAccessKey|ClientSecret)=", v)) == 0])
    error_message = "An app setting carries a key or secret."
  }
  assert {
    condition     = length(setsubtract([for k in keys(azurerm_linux_function_app.main[0].app_settings) : k if startswith(k, "GALSYNC_")], jsondecode(file("tests/testdata/code.json")).settings_read)) == 0
    error_message = "infra/ sets GALSYNC_* settings the code does not read."
  }
  assert {
    condition     = azurerm_linux_function_app.main[0].app_settings["GALSYNC_MAX_INSTANCES"] == "4" && azurerm_linux_function_app.main[0].site_config[0].app_scale_limit == 4 && azurerm_service_plan.main.maximum_elastic_worker_count == 4
    error_message = "Premium: every instance runs every function, so GALSYNC_MAX_INSTANCES is the app's scale limit."
  }
  assert {
    condition     = azurerm_linux_function_app.main[0].site_config[0].elastic_instance_minimum == 1 && azurerm_linux_function_app.main[0].key_vault_reference_identity_id == azurerm_user_assigned_identity.app.id
    error_message = "Premium: one always-ready instance; Key Vault references with the user-assigned identity."
  }
  assert {
    condition     = length(azapi_resource.flex) == 0
    error_message = "Premium deploys no Flex site."
  }
}

# --- A tenant in another cloud: its certificate from Key Vault ------------------------
run "cross_cloud_key_vault" {
  variables {
    tenants = {
      contoso = { tenant_id = "11111111-1111-1111-1111-111111111111", cloud = "public", domain = "contoso.onmicrosoft.com" }
      gcch = {
        tenant_id   = "33333333-3333-3333-3333-333333333333"
        cloud       = "usgov"
        domain      = "gcch.onmicrosoft.us"
        certificate = { client_id = "44444444-4444-4444-4444-444444444444", key_vault_certificate = "galsync-gcch" }
      }
    }
    directions = [{
      name              = "contoso-to-gcch"
      source            = "contoso"
      target            = "gcch"
      inviteRedirectUrl = "https://myapps.microsoft.com"
      deprovision       = { action = "disable" }
    }]
  }
  assert {
    condition     = one([for s in azapi_resource.flex[0].body.properties.siteConfig.appSettings : s.value if s.name == "GALSYNC_CERTIFICATE_GCCH"]) == "@Microsoft.KeyVault(SecretUri=https://kvgalsync8f49c0.vault.azure.net/secrets/galsync-gcch/)"
    error_message = "The certificate reaches the app as a Key Vault reference."
  }
  assert {
    condition     = jsondecode(one([for s in azapi_resource.flex[0].body.properties.siteConfig.appSettings : s.value if s.name == "GALSYNC_TOPOLOGY"])).tenants[1].auth == { method = "certificate", clientId = "44444444-4444-4444-4444-444444444444", certificateSetting = "GALSYNC_CERTIFICATE_GCCH" }
    error_message = "The topology names the setting holding the certificate."
  }
  assert {
    condition     = azurerm_key_vault.certificates[0].rbac_authorization_enabled && azurerm_role_assignment.key_vault_secrets[0].role_definition_name == "Key Vault Secrets User" && azurerm_role_assignment.key_vault_secrets[0].principal_id == "bbbbbbbb-bbbb-bbbb-bbbb-bbbbbbbbbbbb"
    error_message = "The vault uses Azure roles, and the identity reads secrets only."
  }
  assert {
    condition     = length(azuread_application_registration.partner) == 0
    error_message = "A tenant of another cloud gets no federated app registration."
  }
}

# --- GCC High and DoD are one Entra cloud ---------------------------------------------
run "government_pair" {
  # A state of its own, so the mocks create the app anew with Azure
  # Government's sites suffix and the hostname check holds.
  state_key = "government"
  override_resource {
    target = azapi_resource.flex
    values = {
      id     = "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg-galsync/providers/Microsoft.Web/sites/func-galsync-8f49c0"
      output = { properties = { defaultHostName = "func-galsync-8f49c0.azurewebsites.us" } }
    }
  }
  variables {
    home_cloud = "usgov"
    tenants = {
      gcch = { tenant_id = "11111111-1111-1111-1111-111111111111", cloud = "usgov", domain = "gcch.onmicrosoft.us" }
      dod  = { tenant_id = "22222222-2222-2222-2222-222222222222", cloud = "usgovdod", domain = "dod.onmicrosoft.us" }
    }
    directions = [{
      name              = "gcch-to-dod"
      source            = "gcch"
      target            = "dod"
      inviteRedirectUrl = "https://myapps.microsoft.com"
      deprovision       = { action = "disable" }
    }]
  }
  assert {
    condition     = keys(azuread_application_registration.partner) == ["dod"] && toset(one(values(azuread_application_federated_identity_credential.partner)).audiences) == toset(["api://AzureADTokenExchangeUSGov"])
    error_message = "A DoD tenant is reached from GCC High through a federated app registration, with Azure Government's audience."
  }
}

# --- What the configuration refuses -------------------------------------------------------
run "refuses_government_with_china" {
  command = plan
  variables {
    tenants = {
      contoso = { tenant_id = "11111111-1111-1111-1111-111111111111", cloud = "public", domain = "contoso.onmicrosoft.com" }
      gcch    = { tenant_id = "33333333-3333-3333-3333-333333333333", cloud = "usgov", domain = "gcch.onmicrosoft.us", certificate = { client_id = "44444444-4444-4444-4444-444444444444", key_vault_certificate = "gcch" } }
      china   = { tenant_id = "22222222-2222-2222-2222-222222222222", cloud = "china", domain = "cn.partner.onmschina.cn", certificate = { client_id = "44444444-4444-4444-4444-444444444444", key_vault_certificate = "cn" } }
    }
    directions = [{
      name              = "gcch-to-china"
      source            = "gcch"
      target            = "china"
      inviteRedirectUrl = "https://myapps.microsoft.com"
      deprovision       = { action = "disable" }
    }]
  }
  expect_failures = [var.directions]
}

run "refuses_certificate_file_on_flex" {
  command = plan
  variables {
    tenants = {
      contoso = { tenant_id = "11111111-1111-1111-1111-111111111111", cloud = "public", domain = "contoso.onmicrosoft.com" }
      gcch    = { tenant_id = "33333333-3333-3333-3333-333333333333", cloud = "usgov", domain = "gcch.onmicrosoft.us", certificate = { client_id = "44444444-4444-4444-4444-444444444444", certificate_path = "/var/ssl/private/ABC.p12" } }
    }
    directions = [{
      name              = "contoso-to-gcch"
      source            = "contoso"
      target            = "gcch"
      inviteRedirectUrl = "https://myapps.microsoft.com"
      deprovision       = { action = "disable" }
    }]
  }
  expect_failures = [var.tenants]
}

run "refuses_concurrency_past_the_budget" {
  command = plan
  variables {
    maximum_instance_count           = 20
    service_bus_max_concurrent_calls = 16 # 2 x 20 x 16 = 640 > 600
  }
  expect_failures = [var.service_bus_max_concurrent_calls]
}

run "refuses_managed_platform_settings" {
  command = plan
  variables {
    extra_app_settings = { AzureWebJobsStorage = "" }
  }
  expect_failures = [var.extra_app_settings]
}

run "premium_accepts_certificate_loading" {
  variables {
    hosting_plan       = "premium"
    extra_app_settings = { WEBSITE_LOAD_CERTIFICATES = "ABCDEF0123456789ABCDEF0123456789ABCDEF01", GALSYNC_PULL_BUDGET = "3m" }
  }
  assert {
    condition     = azurerm_linux_function_app.main[0].app_settings["WEBSITE_LOAD_CERTIFICATES"] == "ABCDEF0123456789ABCDEF0123456789ABCDEF01"
    error_message = "extra_app_settings passes the platform settings the docs name."
  }
}
