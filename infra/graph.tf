# Microsoft Graph permissions, least privilege per tenant role:
#   a source tenant is read:          User.Read.All
#   a target tenant is written:       User.Invite.All, User.ReadWrite.All
# (a tenant that is both gets both). Application permissions only: galsync
# runs with no signed-in user.
#
# How galsync reaches each tenant (shared/identity):
#   home tenant (var.home_tenant_id)    the managed identity itself; its Graph
#                                       app roles are assigned here.
#   partner tenant, same Entra cloud    a multi-tenant app registration in the
#                                       home tenant whose federated credential
#                                       is the managed identity; the partner's
#                                       admin consents to it (docs/deploy.md),
#                                       which Terraform cannot do from here.
#   tenant in another Entra cloud       an app registration with a certificate
#                                       in that cloud (var.tenants[*].certificate);
#                                       created by that cloud's admin; the
#                                       certificate comes from keyvault.tf.
# GCC High (usgov) and DoD (usgovdod) are one Entra cloud, Azure Government
# (local.entra_cloud): the managed identity is a federated credential
# between them.

locals {
  # Microsoft Graph's application id: the same in every tenant and cloud.
  graph_app_id = "00000003-0000-0000-c000-000000000000"

  sources = toset([for d in var.directions : d.source])
  targets = toset([for d in var.directions : d.target])
  tenant_graph_roles = {
    for name, t in var.tenants : name => concat(
      contains(local.sources, name) ? ["User.Read.All"] : [],
      contains(local.targets, name) ? ["User.Invite.All", "User.ReadWrite.All"] : [],
    )
  }

  home_tenant_name = one([for name, t in var.tenants : name if t.tenant_id == var.home_tenant_id])
  home_graph_roles = local.home_tenant_name == null ? [] : local.tenant_graph_roles[local.home_tenant_name]

  partner_tenants = {
    for name, t in var.tenants : name => t
    if t.tenant_id != var.home_tenant_id && local.entra_cloud[t.cloud] == local.home_entra_cloud
  }
}

data "azuread_service_principal" "graph" {
  client_id = local.graph_app_id
}

# Home tenant: Graph app roles straight on the managed identity's service
# principal (an app role assignment is the only way to give a managed
# identity application permissions; there is no consent prompt for it).
resource "azuread_app_role_assignment" "home_graph" {
  for_each = toset(local.home_graph_roles)

  app_role_id         = data.azuread_service_principal.graph.app_role_ids[each.key]
  principal_object_id = azurerm_user_assigned_identity.app.principal_id
  resource_object_id  = data.azuread_service_principal.graph.object_id
}

# Partner tenants in the same cloud: one multi-tenant app per partner, so
# each partner consents to exactly the permissions its role needs and can
# revoke galsync without touching the others.
resource "azuread_application_registration" "partner" {
  for_each = local.partner_tenants

  display_name     = "galsync ${var.name} (${each.key})"
  description      = "galsync B2B user sync for tenant ${each.value.tenant_id}; signs in with the managed identity ${local.identity_name} as federated credential. No secrets."
  sign_in_audience = "AzureADMultipleOrgs"
}

# The Graph application permissions the partner's admin consents to.
resource "azuread_application_api_access" "partner_graph" {
  for_each = local.partner_tenants

  application_id = azuread_application_registration.partner[each.key].id
  api_client_id  = local.graph_app_id
  role_ids       = [for r in local.tenant_graph_roles[each.key] : data.azuread_service_principal.graph.app_role_ids[r]]
}

# The managed identity is the app's only credential: galsync asks it for a
# token with the cloud's token-exchange audience and presents that as the
# client assertion (shared/identity federated). Issuer and subject are the
# managed identity's home tenant and object id.
resource "azuread_application_federated_identity_credential" "partner" {
  for_each = local.partner_tenants

  application_id = azuread_application_registration.partner[each.key].id
  display_name   = "galsync-${var.name}-managed-identity"
  description    = "The user-assigned managed identity ${local.identity_name} of galsync ${var.name}."
  audiences      = [local.cloud.token_exchange_audience]
  issuer         = "${local.cloud.login_host}/${var.home_tenant_id}/v2.0"
  subject        = azurerm_user_assigned_identity.app.principal_id
}

# --- GALSYNC_TOPOLOGY -------------------------------------------------------------
# The topology document (shared/galsync/topology.go) with each tenant's auth
# filled in from what this configuration created. Directions pass through
# as given.
locals {
  tenant_auth = {
    for name, t in var.tenants : name => (
      # maps of strings, so the three branches have one type
      t.tenant_id == var.home_tenant_id ? tomap({
        method                  = "managedIdentity"
        managedIdentityClientId = azurerm_user_assigned_identity.app.client_id
        }) : local.entra_cloud[t.cloud] == local.home_entra_cloud ? tomap({
        method                  = "federated"
        clientId                = azuread_application_registration.partner[name].client_id
        managedIdentityClientId = azurerm_user_assigned_identity.app.client_id
        }) : merge({
        method   = "certificate"
        clientId = t.certificate.client_id
        }, t.certificate.key_vault_certificate != null ? {
        certificateSetting = local.certificate_setting_names[name]
        } : {
        certificatePath = t.certificate.certificate_path
        }, t.certificate.password_setting == null ? {} : {
        certificatePasswordSetting = t.certificate.password_setting
      })
    )
  }

  topology = {
    tenants = [
      for name, t in var.tenants : {
        name     = name
        tenantId = t.tenant_id
        cloud    = t.cloud
        domain   = t.domain
        auth     = local.tenant_auth[name]
      }
    ]
    directions = var.directions
  }
  topology_json = jsonencode(local.topology)
}
