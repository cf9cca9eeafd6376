# Certificates of tenants in other Entra clouds (var.tenants[*].certificate
# .key_vault_certificate), where the managed identity cannot sign in. They
# live in a Key Vault of their own and reach galsync as Key Vault references
# in app settings, resolved by the platform with the user-assigned identity
# (keyVaultReferenceIdentity): no secret in Terraform state, app settings or
# the package. A reference to a certificate's secret yields the certificate
# with its private key, base64 PFX (or PEM when imported as PEM), which galsync reads from the setting
# its topology names (auth.certificateSetting, shared/identity/certificate.go)
# (https://learn.microsoft.com/azure/app-service/app-service-key-vault-references).
# This works on both plans; Flex Consumption cannot load certificate files
# (WEBSITE_LOAD_CERTIFICATES), and its Key Vault references "don't work when
# Key Vault is network access restricted", so this vault keeps public
# network access with Entra-only (RBAC) authorization
# (https://learn.microsoft.com/azure/azure-functions/flex-consumption-plan#considerations).
locals {
  key_vault_certificates = {
    for name, t in var.tenants : name => t.certificate.key_vault_certificate
    if try(t.certificate.key_vault_certificate, null) != null
  }
  # App setting names allow letters, digits and underscores on Linux.
  certificate_setting_names = {
    for name in keys(local.key_vault_certificates) : name => "GALSYNC_CERTIFICATE_${upper(replace(name, "-", "_"))}"
  }
  # The reference without a version follows the certificate's latest
  # version, so a renewed certificate is picked up without a change here.
  certificate_settings = {
    for name, cert in local.key_vault_certificates : local.certificate_setting_names[name] => "@Microsoft.KeyVault(SecretUri=${azurerm_key_vault.certificates[0].vault_uri}secrets/${cert}/)"
  }
}

resource "azurerm_key_vault" "certificates" {
  count = length(local.key_vault_certificates) > 0 ? 1 : 0

  name                = local.key_vault_name
  resource_group_name = azurerm_resource_group.main.name
  location            = azurerm_resource_group.main.location
  tenant_id           = var.home_tenant_id
  sku_name            = "standard"

  # Access by Azure roles only (no access policies); deleting a certificate
  # by mistake stays recoverable for 90 days (and so does the vault, whose
  # name stays taken that long after a destroy).
  rbac_authorization_enabled    = true
  purge_protection_enabled      = true
  soft_delete_retention_days    = 90
  public_network_access_enabled = true

  tags = local.tags
}

# Reading secret values (a certificate's secret is its PFX) and nothing
# else, on this vault, which holds only galsync's certificates.
resource "azurerm_role_assignment" "key_vault_secrets" {
  count = length(azurerm_key_vault.certificates)

  scope                = azurerm_key_vault.certificates[0].id
  role_definition_name = "Key Vault Secrets User"
  principal_id         = azurerm_user_assigned_identity.app.principal_id
  principal_type       = "ServicePrincipal"
}
