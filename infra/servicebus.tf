# Service Bus carries galsync's work between functions: pulls (one message
# per direction, coalesced), invites and updates (one per user change), and
# parked (messages galsync sets aside after a permanent failure, listed and
# replayed by `galsync dlq`).
# The Functions host owns peek-lock, lock renewal and completion; the broker
# dead-letters a message after max_delivery_count failed deliveries, which
# is how invariant 7 (nothing silently dropped) holds in production.

# Standard, not Basic: Basic has no duplicate detection, which galsync's
# message ids rely on (a re-read change or a coalesced pull request sent
# twice inside the window is dropped by the broker).
resource "azurerm_servicebus_namespace" "main" {
  name                = local.servicebus_name
  resource_group_name = azurerm_resource_group.main.name
  location            = azurerm_resource_group.main.location
  sku                 = var.servicebus_sku
  # No SAS keys: every client signs in with Entra ID.
  local_auth_enabled  = false
  minimum_tls_version = "1.2"
  tags                = local.tags
}

locals {
  # One entry per queue in shared/galsync/galsync.go (infra/settings_test.go
  # checks the names against it and against the function.json triggers).
  queues = {
    # delta-pull works through a direction for up to GALSYNC_PULL_BUDGET (4m
    # by default). The lock covers the whole budget even if a renewal is
    # missed; the host renews it anyway (host.json maxAutoLockRenewalDuration).
    # The duplicate window must exceed GALSYNC_PULL_COALESCE_WINDOW (30s).
    pulls = {
      lock_duration       = "PT5M"
      duplicate_window    = "PT10M"
      max_delivery_count  = var.max_delivery_count
      default_message_ttl = "P1D" # a pull older than a day is superseded by the timer's next one
    }
    # One user change each; seconds of Graph work. The window covers a
    # crashed delta-pull re-reading and re-sending the same pages.
    invites = {
      lock_duration       = "PT1M"
      duplicate_window    = "PT1H"
      max_delivery_count  = var.max_delivery_count
      default_message_ttl = "P14D"
    }
    updates = {
      lock_duration       = "PT1M"
      duplicate_window    = "PT1H"
      max_delivery_count  = var.max_delivery_count
      default_message_ttl = "P14D"
    }
    # No function is triggered by it; the same lock and duplicate settings
    # as the work queues, so a replayed or re-parked message keeps its
    # duplicate detection. No TTL: a parked message waits for a person
    # (invariant 7); left unset, Service Bus's default is TimeSpan.MaxValue
    # (learn.microsoft.com/dotnet/api/azure.messaging.servicebus.administration.createqueueoptions.defaultmessagetimetolive),
    # where 14 days would move it to parked's own dead-letter subqueue,
    # which neither `galsync dlq` nor the status page reads.
    parked = {
      lock_duration       = "PT1M"
      duplicate_window    = "PT1H"
      max_delivery_count  = var.max_delivery_count
      default_message_ttl = null
    }
  }
}

resource "azurerm_servicebus_queue" "main" {
  for_each = local.queues

  name         = each.key
  namespace_id = azurerm_servicebus_namespace.main.id

  lock_duration                           = each.value.lock_duration
  max_delivery_count                      = each.value.max_delivery_count
  requires_duplicate_detection            = true
  duplicate_detection_history_time_window = each.value.duplicate_window
  default_message_ttl                     = each.value.default_message_ttl
  # An expired message goes to the dead-letter queue with its reason, where
  # `galsync` replay can send it again, instead of vanishing.
  dead_lettering_on_message_expiration = true
  # Ordering is not needed (invariant 3: a stale message changes nothing),
  # and sessions would serialise a direction's users.
  requires_session     = false
  partitioning_enabled = false
}
