# Provider versions are pinned exactly: an upgrade is a reviewed change, and
# `make infra-check` validates against the same versions (azurerm is built
# from the Go module proxy at the commit of this release; see
# scripts/infra-check.sh). Commit .terraform.lock.hcl after the first online
# `terraform init` (docs/deploy.md explains why it cannot be produced offline).
terraform {
  # 1.9: variable validation may refer to other variables.
  required_version = ">= 1.9.0"

  required_providers {
    azurerm = {
      source  = "hashicorp/azurerm"
      version = "5.2.0"
    }
    azuread = {
      source  = "hashicorp/azuread"
      version = "3.7.0"
    }
    # The Flex Consumption site (functions.tf says why). 1.15.0: the newest
    # release the Go module proxy serves, so `make infra-check` builds and
    # validates against this very version.
    azapi = {
      source  = "Azure/azapi"
      version = "1.15.0"
    }
  }
}

provider "azurerm" {
  features {}
  subscription_id = var.subscription_id
  environment     = local.cloud.azurerm_environment
  # The storage account allows no shared keys, so the provider must use
  # Entra ID for any data-plane call it makes.
  storage_use_azuread = true
}

# The home tenant: where the subscription, the managed identity and the
# partner app registrations live.
provider "azuread" {
  tenant_id   = var.home_tenant_id
  environment = local.cloud.azuread_environment
}

provider "azapi" {
  subscription_id = var.subscription_id
  environment     = local.cloud.azurerm_environment
}
