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
    identity, other tenants of the home Entra cloud through a federated app
    registration this configuration creates (GCC High and DoD are one Entra
    cloud), tenants of other clouds with a certificate of an app registered
    there: certificate = { client_id, key_vault_certificate } names a
    certificate you import into the Key Vault this configuration creates
    (both plans), or { client_id, certificate_path, password_setting } a
    file the platform loads (Elastic Premium only; docs/deploy.md).
  EOT
  type = map(object({
    tenant_id = string
    cloud     = string
    domain    = string
    certificate = optional(object({
      client_id             = string
      key_vault_certificate = optional(string)
      certificate_path      = optional(string)
      password_setting      = optional(string)
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
  # A managed identity signs in only within its own Entra cloud; usgov (GCC
  # High) and usgovdod (DoD) are one, Azure Government
  # (https://learn.microsoft.com/entra/workload-id/workload-identity-federation-config-app-trust-managed-identity:
  # "Accessing resources in another cloud is not supported").
  validation {
    condition = alltrue([
      for t in var.tenants : lookup({ usgovdod = "usgov" }, t.cloud, t.cloud) == lookup({ usgovdod = "usgov" }, var.home_cloud, var.home_cloud) || t.certificate != null
    ])
    error_message = "A tenant in another Entra cloud than home_cloud needs certificate = { client_id, key_vault_certificate }: a managed identity cannot reach across clouds (usgov and usgovdod are one cloud, Azure Government)."
  }
  validation {
    condition = alltrue([
      for t in var.tenants : t.certificate == null || (try(t.certificate.key_vault_certificate, null) == null) != (try(t.certificate.certificate_path, null) == null)
    ])
    error_message = "A tenant's certificate names exactly one of key_vault_certificate (a certificate in the deployment's Key Vault) and certificate_path (a file the platform loads, Elastic Premium only)."
  }
  # Flex Consumption: "Loading certificates with the WEBSITE_LOAD_CERTIFICATES
  # app setting is currently not supported"
  # (https://learn.microsoft.com/azure/azure-functions/flex-consumption-plan#considerations),
  # so no platform-loaded certificate file exists there.
  validation {
    condition     = var.hosting_plan == "premium" || alltrue([for t in var.tenants : try(t.certificate.certificate_path, null) == null])
    error_message = "certificate_path needs hosting_plan = \"premium\": Flex Consumption does not load certificates (WEBSITE_LOAD_CERTIFICATES is not supported there). Use key_vault_certificate, which works on both plans."
  }
  validation {
    condition     = alltrue([for t in var.tenants : try(t.certificate.key_vault_certificate, null) == null || can(regex("^[0-9A-Za-z-]{1,127}$", t.certificate.key_vault_certificate))])
    error_message = "key_vault_certificate must be a Key Vault certificate name: 1-127 letters, digits and dashes."
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
  # B2B across Microsoft clouds exists only between the commercial cloud and
  # Azure Government, and between the commercial cloud and the China cloud
  # (https://learn.microsoft.com/entra/external-id/cross-cloud-settings).
  # galsync refuses the same pairs at start (shared/galsync/clouds.go).
  validation {
    condition = alltrue([
      for d in var.directions : length(setsubtract(
        toset([try(var.tenants[d.source].cloud, ""), try(var.tenants[d.target].cloud, "")]), ["public"])
      ) < 2 || !contains([try(var.tenants[d.source].cloud, ""), try(var.tenants[d.target].cloud, "")], "china")
    ])
    error_message = "Direction(s) ${join(", ", [for d in var.directions : d.name if contains([try(var.tenants[d.source].cloud, ""), try(var.tenants[d.target].cloud, "")], "china") && anytrue([for c in [try(var.tenants[d.source].cloud, ""), try(var.tenants[d.target].cloud, "")] : contains(["usgov", "usgovdod"], c)])])} pair Azure Government (usgov, usgovdod) with china: those clouds cannot collaborate; B2B across clouds exists only between the commercial cloud and Azure Government, and between the commercial cloud and the China cloud."
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

variable "maximum_instance_count" {
  description = "Most instances the app scales out to: on Flex Consumption per function group (invite-worker, update-worker, delta-pull and the HTTP group each scale on their own), on Elastic Premium for the whole app. Graph's write budget per tenant is split between the instances that write (GALSYNC_MAX_INSTANCES), so more instances do not mean more throughput: see docs/capacity.md."
  type        = number
  default     = 2
  validation {
    condition     = var.maximum_instance_count >= 1 && var.maximum_instance_count <= 1000 && floor(var.maximum_instance_count) == var.maximum_instance_count
    error_message = "maximum_instance_count must be a whole number from 1 to 1000."
  }
}

variable "http_always_ready_instances" {
  description = "Instances kept running for the HTTP functions (graph-notify, graph-lifecycle answer Graph within 3 s and 10 s): Flex Consumption's always-ready count of the \"http\" group, Elastic Premium's always-ready minimum (at least 1 there). 0 on Flex lets the group scale to zero and pay cold starts."
  type        = number
  default     = 1
  validation {
    condition     = var.http_always_ready_instances >= 0 && var.http_always_ready_instances <= 20 && floor(var.http_always_ready_instances) == var.http_always_ready_instances
    error_message = "http_always_ready_instances must be a whole number from 0 to 20."
  }
}

variable "service_bus_max_concurrent_calls" {
  description = "Messages each Service Bus-triggered function runs at once per instance (host.json extensions.serviceBus.maxConcurrentCalls, overridden through an app setting so Terraform holds both factors of the concurrency). With GALSYNC_MAX_INSTANCES it must fit Graph's write budget: see docs/capacity.md."
  type        = number
  default     = 8
  # Every message waiting for the tenant's write budget holds its lock: all
  # writer instances' concurrent messages (GALSYNC_MAX_INSTANCES x this)
  # must be served by 20 writes/s (3,000 per 2.5 min per app per tenant,
  # https://learn.microsoft.com/graph/throttling-limits#identity-and-access-service-limits)
  # within half the 1-minute lock of invites and updates: at most 600.
  validation {
    condition = var.service_bus_max_concurrent_calls >= 1 && floor(var.service_bus_max_concurrent_calls) == var.service_bus_max_concurrent_calls && var.service_bus_max_concurrent_calls * (
      var.hosting_plan == "flex" ? 2 * var.maximum_instance_count : var.maximum_instance_count
    ) <= 600
    error_message = "service_bus_max_concurrent_calls x GALSYNC_MAX_INSTANCES (Flex: 2 x maximum_instance_count; Premium: maximum_instance_count) must be at most 600: Graph's 20 writes/s per tenant serve that many waiting messages in 30 s, half their lock (docs/capacity.md)."
  }
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

variable "sweep_schedule" {
  description = "GALSYNC_SWEEP_SCHEDULE: six-field NCRONTAB of sweep-timer (every linked guest compared with its desired state)."
  type        = string
  default     = "0 30 2 * * *"
}

variable "full_sync_schedule" {
  description = "GALSYNC_FULL_SYNC_SCHEDULE: six-field NCRONTAB of full-sync-timer (a fresh full round of each source)."
  type        = string
  default     = "0 30 3 * * 0"
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
  description = "Further app settings: GALSYNC_* tunables docs/deploy.md lists as inputs (GALSYNC_PULL_BUDGET...), and the platform settings it names (WEBSITE_LOAD_CERTIFICATES on Elastic Premium, AzureFunctionsJobHost__* host.json overrides). Settings infra/ manages itself are refused."
  type        = map(string)
  default     = {}
  validation {
    condition = alltrue([
      for k in keys(var.extra_app_settings) : startswith(k, "GALSYNC_") || k == "WEBSITE_LOAD_CERTIFICATES" || startswith(k, "AzureFunctionsJobHost__")
    ])
    error_message = "extra_app_settings holds GALSYNC_* settings, WEBSITE_LOAD_CERTIFICATES and AzureFunctionsJobHost__* overrides only; host storage, telemetry, runtime and package settings are managed in functions.tf."
  }
  # Flex Consumption does not load certificates
  # (https://learn.microsoft.com/azure/azure-functions/flex-consumption-plan#considerations).
  validation {
    condition     = var.hosting_plan == "premium" || !contains(keys(var.extra_app_settings), "WEBSITE_LOAD_CERTIFICATES")
    error_message = "WEBSITE_LOAD_CERTIFICATES is not supported on Flex Consumption; use a tenant's key_vault_certificate."
  }
  validation {
    condition     = !contains(keys(var.extra_app_settings), "GALSYNC_MAX_INSTANCES") && !contains(keys(var.extra_app_settings), "AzureFunctionsJobHost__extensions__serviceBus__maxConcurrentCalls")
    error_message = "GALSYNC_MAX_INSTANCES and maxConcurrentCalls follow maximum_instance_count and service_bus_max_concurrent_calls; set those variables instead."
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
