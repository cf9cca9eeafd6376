# galsync: one Go binary served as an Azure Functions custom handler, with
# Service Bus queues between the functions and Cosmos DB as the store.
# Files by concern:
#   functions.tf   host storage, plan, Function App, Application Insights
#   servicebus.tf  namespace and the pulls / invites / updates / parked queues
#   cosmos.tf      account, database, containers of the store adapter
#   identity.tf    the user-assigned managed identity and its Azure roles
#   keyvault.tf    the Key Vault holding cross-cloud tenants' certificates
#   graph.tf       Microsoft Graph permissions and partner app registrations
#   variables.tf / outputs.tf / versions.tf

locals {
  # Per-cloud facts. The token-exchange audiences are those the identity
  # package (shared/identity/hosts.go) asks the managed identity for.
  clouds = {
    public = {
      azurerm_environment     = "public"
      azuread_environment     = "global"
      login_host              = "https://login.microsoftonline.com"
      token_exchange_audience = "api://AzureADTokenExchange"
      sites_suffix            = "azurewebsites.net"
    }
    usgov = {
      azurerm_environment     = "usgovernment"
      azuread_environment     = "usgovernment"
      login_host              = "https://login.microsoftonline.us"
      token_exchange_audience = "api://AzureADTokenExchangeUSGov"
      sites_suffix            = "azurewebsites.us"
    }
    usgovdod = {
      azurerm_environment     = "usgovernment"
      azuread_environment     = "usgovernmentl5"
      login_host              = "https://login.microsoftonline.us"
      token_exchange_audience = "api://AzureADTokenExchangeUSGov"
      sites_suffix            = "azurewebsites.us"
    }
    china = {
      azurerm_environment     = "china"
      azuread_environment     = "china"
      login_host              = "https://login.chinacloudapi.cn"
      token_exchange_audience = "api://AzureADTokenExchangeChina"
      sites_suffix            = "chinacloudsites.cn"
    }
  }
  cloud = local.clouds[var.home_cloud]

  # The Entra ID cloud each cloud signs in to: GCC High and DoD are both
  # Azure Government (one sign-in host, one token-exchange audience, B2B as
  # within one cloud); shared/galsync/clouds.go decides the same.
  entra_cloud      = { public = "public", usgov = "usgov", usgovdod = "usgov", china = "china" }
  home_entra_cloud = local.entra_cloud[var.home_cloud]

  # Globally unique names need a suffix. It is derived, not random, so the
  # configuration needs no provider beyond azurerm and azuread and a plan
  # is reproducible.
  suffix           = substr(sha1("${var.subscription_id}/${var.name}"), 0, 6)
  app_name         = "func-${var.name}-${local.suffix}"
  storage_name     = substr(replace("st${var.name}${local.suffix}", "-", ""), 0, 24)
  servicebus_name  = "sb-${var.name}-${local.suffix}"
  cosmos_name      = "cosmos-${var.name}-${local.suffix}"
  key_vault_name   = "kv${replace(var.name, "-", "")}${local.suffix}"
  identity_name    = "id-${var.name}"
  insights_name    = "appi-${var.name}"
  workspace_name   = "log-${var.name}"
  service_plan_sku = var.hosting_plan == "flex" ? "FC1" : var.premium_sku

  tags = merge({ app = "galsync", instance = var.name }, var.tags)
}

resource "azurerm_resource_group" "main" {
  name     = "rg-${var.name}"
  location = var.location
  tags     = local.tags
}
