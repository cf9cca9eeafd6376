output "resource_group_name" {
  value = azurerm_resource_group.main.name
}

output "function_app_name" {
  value = local.app_name
}

output "function_app_default_hostname" {
  value = local.function_app_default_hostname
}

# The URLs Graph calls: galsync registers them itself (GALSYNC_NOTIFY_URL,
# GALSYNC_LIFECYCLE_URL); they are shown here for checking and firewalls.
output "graph_notify_url" {
  value = "https://${local.function_app_default_hostname}/${local.route_prefix}/${local.webhook_routes["graph-notify"]}"
}

output "graph_lifecycle_url" {
  value = "https://${local.function_app_default_hostname}/${local.route_prefix}/${local.webhook_routes["graph-lifecycle"]}"
}

output "managed_identity" {
  value = {
    client_id    = azurerm_user_assigned_identity.app.client_id
    principal_id = azurerm_user_assigned_identity.app.principal_id
    id           = azurerm_user_assigned_identity.app.id
  }
}

output "home_graph_permissions" {
  description = "Graph application permissions granted to the managed identity in the home tenant."
  value       = local.home_graph_roles
}

# What each partner tenant's administrator must consent to, and where.
output "partner_admin_consent" {
  value = {
    for name, t in local.partner_tenants : name => {
      tenant_id   = t.tenant_id
      client_id   = azuread_application_registration.partner[name].client_id
      permissions = local.tenant_graph_roles[name]
      consent_url = "${local.cloud.login_host}/${t.tenant_id}/adminconsent?client_id=${azuread_application_registration.partner[name].client_id}"
    }
  }
}

output "topology" {
  description = "The GALSYNC_TOPOLOGY document the app was given."
  value       = local.topology_json
}

output "package_container_url" {
  value = "${azurerm_storage_account.host.primary_blob_endpoint}${azurerm_storage_container.package.name}"
}

# The app was told its webhook URLs before it existed (GALSYNC_NOTIFY_URL):
# warn when Azure gave it another hostname than the one assumed.
check "webhook_hostname" {
  assert {
    condition     = local.function_app_default_hostname == local.app_hostname
    error_message = "The Function App's hostname is ${local.function_app_default_hostname}, not ${local.app_hostname}: set public_hostname = \"${local.function_app_default_hostname}\" and apply again so galsync registers the right webhook URLs."
  }
}

# Where to import the certificates of tenants in other clouds (docs/deploy.md).
output "key_vault" {
  value = length(azurerm_key_vault.certificates) == 0 ? null : {
    name         = azurerm_key_vault.certificates[0].name
    uri          = azurerm_key_vault.certificates[0].vault_uri
    certificates = local.key_vault_certificates
  }
}

# How Graph's write budget is shared (docs/capacity.md).
output "graph_budget" {
  value = {
    max_instances                 = local.max_writer_instances
    max_concurrent_calls          = var.service_bus_max_concurrent_calls
    writes_per_second_per_tenant  = 20
    writes_per_second_per_process = 20 / local.max_writer_instances
  }
}
