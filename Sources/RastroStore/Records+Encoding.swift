import GRDB
import RastroCore

// Column by column instead of GRDB's Codable path: these rows are written for
// every shipment of every poll and push, and the Codable path (keyed
// containers, snake-case conversion of every key) showed up in profiles.

extension EventRecord {
    public func encode(to container: inout PersistenceContainer) throws {
        container["id"] = id
        container["shipment_id"] = shipmentId
        container["identity"] = identity
        container["occurred_at"] = occurredAt
        container["zone"] = zone
        container["status"] = status
        container["code"] = code
        container["subcode"] = subcode
        container["description"] = description
        container["facility"] = facility
        container["city"] = city
        container["district"] = district
        container["state"] = state
        container["country"] = country
        container["postal_code"] = postalCode
        container["destination"] = destination
        container["retracts_previous"] = retractsPrevious
        container["source"] = source
        container["poll_id"] = pollId
        container["recorded_at"] = recordedAt
    }
}

extension Shipment {
    public func encode(to container: inout PersistenceContainer) throws {
        container["id"] = id
        container["merchant_id"] = merchantId
        container["carrier"] = carrier
        container["tracking_number"] = trackingNumber
        container["order_id"] = orderId
        container["invoice_number"] = invoiceNumber
        container["customer_email"] = customerEmail
        container["customer_name"] = customerName
        container["customer_locale"] = customerLocale
        container["marketplace_endpoint"] = marketplaceEndpoint
        container["dispatched_at"] = dispatchedAt
        container["created_at"] = createdAt
        container["status"] = status
        container["status_changed_at"] = statusChangedAt
        container["estimated_delivery"] = estimatedDelivery
        container["delivered_at"] = deliveredAt
        container["expiry_reason"] = expiryReason
        container["cancelled_at"] = cancelledAt
        container["next_poll_at"] = nextPollAt
        container["lease_owner"] = leaseOwner
        container["poll_failures"] = pollFailures
        container["last_polled_at"] = lastPolledAt
        container["last_outcome"] = lastOutcome
        container["poll_requested_at"] = pollRequestedAt
    }
}

extension OutboxRecord {
    public func encode(to container: inout PersistenceContainer) throws {
        container["id"] = id
        container["message_id"] = messageId
        container["dedupe_key"] = dedupeKey
        container["merchant_id"] = merchantId
        container["shipment_id"] = shipmentId
        container["kind"] = kind
        container["template"] = template
        container["recipient"] = recipient
        container["locale"] = locale
        container["endpoint"] = endpoint
        container["event"] = event
        container["payload"] = payload
        container["status"] = status
        container["attempts"] = attempts
        container["next_attempt_at"] = nextAttemptAt
        container["lease_owner"] = leaseOwner
        container["last_error"] = lastError
        container["created_at"] = createdAt
        container["sent_at"] = sentAt
        container["failed_at"] = failedAt
    }
}
