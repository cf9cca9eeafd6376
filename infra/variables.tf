# --- Where ------------------------------------------------------------------------
variable "subscription_id" {
  description = "Azure subscription to deploy into."
  type        = string
}

variable "home_tenant_id" {
  description = "Entra tenant of the subscription: the managed identity and the partner app registrations live here."
  type        = string
  validation {
    condition     = can(regex("^[0-9a-fA-F]{8}-([0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}$", var.home_tenant_id))
    error_message = "home_tenant_id must be a GUID."
  }
}

variable "home_cloud" {
  description = "Cloud of the subscription and home tenant: public, usgov (GCC High), usgovdod or china. Becomes GALSYNC_HOME_CLOUD."
  type        = string
  default     = "public"
  validation {
    condition     = contains(["public", "usgov", "usgovdod", "china"], var.home_cloud)
    error_message = "home_cloud must be one of public, usgov, usgovdod, china."
  }
}

variable "location" {
  description = "Azure region. Flex Consumption is offered in a subset of regions; use hosting_plan = \"premium\" elsewhere."
  type        = string
}

variable "name" {
  description = "Name of this deployment; every resource name derives from it (rg-NAME, func-NAME-xxxxxx...)."
  type        = string
  default     = "galsync"
  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{1,14}$", var.name))
    error_message = "name must be 2-15 lower-case letters, digits or dashes, starting with a letter (it becomes part of a storage account name)."
  }
}

variable "tags" {
  description = "Tags added to every resource."
  type        = map(string)
  default     = {}
}

# --- Tenants and directions (GALSYNC_TOPOLOGY) -------------------------------------
variable "tenants" {
  description = <<-EOT
    Tenants galsync reads from or writes to, keyed by the name directions use.
    How galsync signs in to each is derived: the home tenant with the managed
    identity, other tenants in the home cloud through a federated app
    registration this configuration creates, tenants in other clouds with a
    certificate you provide (certificate = { client_id, certificate_path,
    password_setting }).
  EOT
  type = map(object({
    tenant_id = string
    cloud     = string
    domain    = string
    certificate = optional(object({
      client_id        = string
      certificate_path = string
      password_setting = optional(string)
    }))
  }))
  validation {
    condition     = alltrue([for n, t in var.tenants : can(regex("^[a-z0-9][a-z0-9-]{0,62}$", n))])
    error_message = "Tenant names must be lower-case letters, digits and dashes."
  }
  validation {
    condition     = alltrue([for t in var.tenants : contains(["public", "usgov", "usgovdod", "china"], t.cloud)])
    error_message = "Each tenant's cloud must be one of public, usgov, usgovdod, china."
  }
  validation {
    condition     = alltrue([for t in var.tenants : t.cloud == var.home_cloud || t.certificate != null])
    error_message = "A tenant in another cloud than home_cloud needs certificate = { client_id, certificate_path }: a managed identity cannot reach across clouds."
  }
}

variable "directions" {
  description = "Directions, as in the topology document (name, source, target, scope, mapping, userType, inviteRedirectUrl, deprovision...). Passed through to GALSYNC_TOPOLOGY; galsync validates them at start."
  type        = any
  validation {
    condition     = can([for d in var.directions : [d.name, d.source, d.target]]) && length(var.directions) > 0
    error_message = "directions must be a non-empty list of objects with at least name, source and target."
  }
  validation {
    condition     = alltrue([for d in var.directions : contains(keys(var.tenants), d.source) && contains(keys(var.tenants), d.target)])
    error_message = "Every direction's source and target must be a key of var.tenants."
  }
}

# --- Hosting --------------------------------------------------------------------------
variable "hosting_plan" {
  description = "flex (Flex Consumption, default) or premium (Elastic Premium)."
  type        = string
  default     = "flex"
  validation {
    condition     = contains(["flex", "premium"], var.hosting_plan)
    error_message = "hosting_plan must be flex or premium."
  }
}

variable "flex_maximum_instance_count" {
  description = "Flex Consumption: most instances the app scales out to. Graph throttles per app per tenant, so more instances do not mean more throughput past a point."
  type        = number
  default     = 20
}

variable "flex_custom_runtime_version" {
  description = "Flex Consumption: version of the \"custom\" runtime (see az functionapp list-flexconsumption-runtimes)."
  type        = string
  default     = "1.0"
}

variable "flex_instance_memory_mb" {
  description = "Flex Consumption: instance memory size (512, 2048 or 4096)."
  type        = number
  default     = 2048
}

variable "premium_sku" {
  description = "Elastic Premium plan size (EP1, EP2, EP3)."
  type        = string
  default     = "EP1"
  validation {
    condition     = contains(["EP1", "EP2", "EP3"], var.premium_sku)
    error_message = "premium_sku must be EP1, EP2 or EP3."
  }
}

variable "premium_maximum_workers" {
  description = "Elastic Premium: most instances the plan scales out to."
  type        = number
  default     = 5
}

variable "package_blob_name" {
  description = "Elastic Premium: blob (in the app-package container) the app runs from; upload dist/galsync.zip under this name."
  type        = string
  default     = "galsync.zip"
}

variable "public_hostname" {
  description = "Public hostname of the Function App, when Azure gives it another than NAME.azurewebsites.net (unique default hostnames) or a custom domain fronts it. Used to build the webhook URLs the app hands to Graph."
  type        = string
  default     = ""
}

# --- Queues and store -------------------------------------------------------------------
variable "servicebus_sku" {
  description = "Service Bus tier: Standard or Premium (Basic lacks duplicate detection)."
  type        = string
  default     = "Standard"
  validation {
    condition     = contains(["Standard", "Premium"], var.servicebus_sku)
    error_message = "servicebus_sku must be Standard or Premium: galsync needs duplicate detection."
  }
}

variable "max_delivery_count" {
  description = "Deliveries of one message before Service Bus dead-letters it."
  type        = number
  default     = 10
}

variable "cosmos_serverless" {
  description = "Serverless Cosmos DB account (default). false: provisioned autoscale throughput shared by the database."
  type        = bool
  default     = true
}

variable "cosmos_max_throughput" {
  description = "Provisioned accounts only: autoscale maximum RU/s of the database."
  type        = number
  default     = 1000
}

variable "cosmos_database_name" {
  description = "Cosmos DB database of the store (GALSYNC_COSMOS_DATABASE)."
  type        = string
  default     = "galsync"
}

variable "provisioning_log_retention_days" {
  description = "Days provisioning log entries live: the log container's TTL and GALSYNC_LOG_RETENTION."
  type        = number
  default     = 30
}

# --- galsync settings ---------------------------------------------------------------------
variable "delta_schedule" {
  description = "GALSYNC_DELTA_SCHEDULE: six-field NCRONTAB of delta-timer."
  type        = string
  default     = "0 */5 * * * *"
}

variable "subscription_schedule" {
  description = "GALSYNC_SUBSCRIPTION_SCHEDULE: six-field NCRONTAB of subscription-timer (renews Graph subscriptions)."
  type        = string
  default     = "0 */30 * * * *"
}

variable "change_notifications" {
  description = "Give galsync its webhook URLs (GALSYNC_NOTIFY_URL, GALSYNC_LIFECYCLE_URL) so it subscribes to Graph change notifications. false: the delta timer alone keeps directions in sync."
  type        = bool
  default     = true
}

variable "log_level" {
  description = "GALSYNC_LOG_LEVEL: debug, info, warn or error."
  type        = string
  default     = "info"
  validation {
    condition     = contains(["debug", "info", "warn", "error"], var.log_level)
    error_message = "log_level must be debug, info, warn or error."
  }
}

variable "extra_app_settings" {
  description = "Further GALSYNC_* app settings, for the tunables docs/deploy.md lists as inputs (GALSYNC_PULL_BUDGET...)."
  type        = map(string)
  default     = {}
  validation {
    condition     = alltrue([for k in keys(var.extra_app_settings) : startswith(k, "GALSYNC_")])
    error_message = "extra_app_settings holds GALSYNC_* settings only; platform settings are managed in functions.tf."
  }
}

variable "log_retention_days" {
  description = "Log Analytics retention of the app's telemetry."
  type        = number
  default     = 30
}

variable "otlp_endpoint" {
  description = "Base URL of an OpenTelemetry Collector (OTLP/HTTP) for galsync's own traces and metrics, e.g. https://otel.example.net:4318; empty: not exported (docs/telemetry.md)."
  type        = string
  default     = ""
  validation {
    condition     = var.otlp_endpoint == "" || can(regex("^https?://[^/]+", var.otlp_endpoint))
    error_message = "otlp_endpoint must be empty or an http(s) URL."
  }
}
