import GRDB

extension Store {
    /// Named migrations, applied in order. A migration that has shipped is never
    /// edited: changes go in a new one, so every existing database upgrades the same way.
    static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1 merchants, shipments, events, polls, raw responses, outcome counters") { db in
            try db.execute(sql: """
            CREATE TABLE merchant (
                id INTEGER PRIMARY KEY,
                name TEXT NOT NULL UNIQUE CHECK (length(name) BETWEEN 1 AND 100),
                created_at INTEGER NOT NULL,
                -- Per-merchant cadence and window (seconds); NULL = the carrier's or the platform's.
                poll_every INTEGER CHECK (poll_every > 0),
                poll_window INTEGER CHECK (poll_window > 0)
            );

            CREATE TABLE shipment (
                id INTEGER PRIMARY KEY,
                merchant_id INTEGER NOT NULL REFERENCES merchant(id) ON DELETE CASCADE,
                carrier TEXT NOT NULL,
                tracking_number TEXT NOT NULL,
                order_id TEXT,
                invoice_number TEXT,
                customer_email TEXT,
                customer_name TEXT,
                customer_locale TEXT,
                marketplace_endpoint TEXT,
                dispatched_at INTEGER NOT NULL,
                created_at INTEGER NOT NULL,
                status TEXT NOT NULL DEFAULT 'pending',
                status_changed_at INTEGER NOT NULL,
                estimated_delivery INTEGER,
                delivered_at INTEGER,
                expiry_reason TEXT,
                cancelled_at INTEGER,
                -- Scheduling. NULL next_poll_at = not polled any more (terminal or cancelled).
                -- While a poll runs, next_poll_at is the lease's end: if the process dies the
                -- shipment is simply due again then, with lease_owner telling it was interrupted.
                next_poll_at INTEGER,
                lease_owner TEXT,
                poll_failures INTEGER NOT NULL DEFAULT 0 CHECK (poll_failures >= 0),
                last_polled_at INTEGER,
                last_outcome TEXT,
                poll_requested_at INTEGER,
                UNIQUE (merchant_id, carrier, tracking_number)
            );
            CREATE INDEX shipment_due ON shipment(carrier, next_poll_at) WHERE next_poll_at IS NOT NULL;
            CREATE INDEX shipment_tracking ON shipment(tracking_number);
            CREATE INDEX shipment_order ON shipment(merchant_id, order_id);

            CREATE TABLE poll (
                id INTEGER PRIMARY KEY,
                carrier TEXT NOT NULL,
                script_version TEXT NOT NULL,
                started_at INTEGER NOT NULL,
                finished_at INTEGER NOT NULL,
                duration_ms INTEGER NOT NULL,
                http_status INTEGER,
                outcome TEXT NOT NULL,
                error TEXT
            );
            CREATE INDEX poll_carrier_time ON poll(carrier, started_at);

            -- Every carrier response, deflated, for replaying a fixed script over real traffic.
            CREATE TABLE raw_response (
                id INTEGER PRIMARY KEY,
                poll_id INTEGER NOT NULL UNIQUE REFERENCES poll(id) ON DELETE CASCADE,
                carrier TEXT NOT NULL,
                received_at INTEGER NOT NULL,
                http_status INTEGER NOT NULL,
                headers TEXT NOT NULL,
                body BLOB NOT NULL,
                body_size INTEGER NOT NULL CHECK (body_size >= 0),
                codes TEXT NOT NULL
            );
            CREATE INDEX raw_response_carrier_time ON raw_response(carrier, received_at);

            CREATE TABLE event (
                id INTEGER PRIMARY KEY,
                shipment_id INTEGER NOT NULL REFERENCES shipment(id) ON DELETE CASCADE,
                identity TEXT NOT NULL,
                occurred_at INTEGER NOT NULL,
                zone TEXT,
                status TEXT NOT NULL,
                code TEXT NOT NULL,
                subcode TEXT,
                description TEXT NOT NULL,
                facility TEXT, city TEXT, district TEXT, state TEXT, country TEXT, postal_code TEXT,
                destination TEXT,
                retracts_previous INTEGER NOT NULL DEFAULT 0 CHECK (retracts_previous IN (0, 1)),
                source TEXT NOT NULL CHECK (source IN ('poll', 'push', 'manual')),
                poll_id INTEGER REFERENCES poll(id) ON DELETE SET NULL,
                recorded_at INTEGER NOT NULL,
                UNIQUE (shipment_id, identity)
            );
            CREATE INDEX event_poll ON event(poll_id);

            -- Poll outcomes per carrier per hour: the raw material of carrier health.
            CREATE TABLE carrier_outcome (
                carrier TEXT NOT NULL,
                hour INTEGER NOT NULL,
                outcome TEXT NOT NULL,
                count INTEGER NOT NULL CHECK (count >= 0),
                PRIMARY KEY (carrier, hour, outcome)
            ) WITHOUT ROWID;
            """)
        }
        migrator.registerMigration("v2 notification outbox, delivery attempts, webhook endpoints") { db in
            try db.execute(sql: """
            ALTER TABLE merchant ADD COLUMN default_locale TEXT;

            -- Where a merchant's webhooks go; `name` is what rules say (webhook{ endpoint = "marketplace" }).
            CREATE TABLE webhook_endpoint (
                id INTEGER PRIMARY KEY,
                merchant_id INTEGER NOT NULL REFERENCES merchant(id) ON DELETE CASCADE,
                name TEXT NOT NULL,
                url TEXT,
                secret TEXT NOT NULL,
                created_at INTEGER NOT NULL,
                disabled_at INTEGER,
                disabled_reason TEXT,
                UNIQUE (merchant_id, name)
            );

            -- Notifications to deliver, written in the same transaction as the change that caused them.
            CREATE TABLE outbox (
                id INTEGER PRIMARY KEY,
                -- The stable id receivers deduplicate on: the email's Message-ID, the webhook-id.
                message_id TEXT NOT NULL UNIQUE,
                -- The same change seen twice (a push and a poll) yields the same key: one row.
                dedupe_key TEXT NOT NULL UNIQUE,
                merchant_id INTEGER NOT NULL REFERENCES merchant(id) ON DELETE CASCADE,
                shipment_id INTEGER REFERENCES shipment(id) ON DELETE CASCADE,
                kind TEXT NOT NULL CHECK (kind IN ('email', 'webhook')),
                template TEXT,
                recipient TEXT,
                locale TEXT,
                endpoint TEXT,
                event TEXT,
                -- JSON: the template variables (email) or the body (webhook), as of the change.
                payload TEXT NOT NULL,
                status TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'sent', 'failed')),
                attempts INTEGER NOT NULL DEFAULT 0 CHECK (attempts >= 0),
                next_attempt_at INTEGER,
                lease_owner TEXT,
                last_error TEXT,
                created_at INTEGER NOT NULL,
                sent_at INTEGER,
                failed_at INTEGER,
                CHECK ((kind = 'email' AND template IS NOT NULL AND recipient IS NOT NULL)
                    OR (kind = 'webhook' AND endpoint IS NOT NULL AND event IS NOT NULL))
            );
            CREATE INDEX outbox_due ON outbox(next_attempt_at) WHERE status = 'pending';
            CREATE INDEX outbox_shipment ON outbox(shipment_id);

            CREATE TABLE delivery_attempt (
                id INTEGER PRIMARY KEY,
                outbox_id INTEGER NOT NULL REFERENCES outbox(id) ON DELETE CASCADE,
                attempted_at INTEGER NOT NULL,
                duration_ms INTEGER NOT NULL,
                outcome TEXT NOT NULL CHECK (outcome IN ('sent', 'retry', 'failed')),
                detail TEXT
            );
            CREATE INDEX delivery_attempt_outbox ON delivery_attempt(outbox_id);
            """)
        }
        migrator.registerMigration("v3 API keys and idempotency records") { db in
            try db.execute(sql: """
            -- Keys are shown once; only a SHA-256 of the whole key is kept. merchant_id NULL = operator key.
            CREATE TABLE api_key (
                id INTEGER PRIMARY KEY,
                merchant_id INTEGER REFERENCES merchant(id) ON DELETE CASCADE,
                prefix TEXT NOT NULL UNIQUE,
                hash BLOB NOT NULL,
                name TEXT NOT NULL,
                created_at INTEGER NOT NULL,
                revoked_at INTEGER
            );

            -- The first answer to a write with an Idempotency-Key, replayed for a repeat.
            CREATE TABLE idempotency (
                merchant_id INTEGER NOT NULL REFERENCES merchant(id) ON DELETE CASCADE,
                key TEXT NOT NULL,
                request_hash TEXT NOT NULL,
                status INTEGER NOT NULL,
                body BLOB NOT NULL,
                created_at INTEGER NOT NULL,
                PRIMARY KEY (merchant_id, key)
            ) WITHOUT ROWID;
            CREATE INDEX shipment_invoice ON shipment(merchant_id, order_id, invoice_number);
            """)
        }
        migrator.registerMigration("v4 carrier health: poll verdicts and shapes, state transitions, last event per shipment") { db in
            try db.execute(sql: """
            -- What each poll said about the integration (NULL for polls recorded before v4).
            ALTER TABLE poll ADD COLUMN verdict TEXT CHECK (verdict IN
                ('new_events', 'unchanged', 'not_found', 'invalid_number', 'auth', 'rate_limited', 'temporary', 'broken'));
            ALTER TABLE poll ADD COLUMN shape TEXT;
            CREATE INDEX poll_carrier_id ON poll(carrier, id);

            -- When rastro last learned something new about a shipment: stale shipments are a health signal.
            ALTER TABLE shipment ADD COLUMN last_event_at INTEGER;
            UPDATE shipment SET last_event_at = (SELECT max(recorded_at) FROM event WHERE event.shipment_id = shipment.id);

            -- Every change of a carrier's state, alerted once; the latest row is the current state.
            CREATE TABLE carrier_transition (
                id INTEGER PRIMARY KEY,
                carrier TEXT NOT NULL,
                from_state TEXT NOT NULL CHECK (from_state IN ('healthy', 'degraded', 'broken')),
                to_state TEXT NOT NULL CHECK (to_state IN ('healthy', 'degraded', 'broken') AND to_state <> from_state),
                reason TEXT NOT NULL,
                since INTEGER NOT NULL,
                at INTEGER NOT NULL,
                -- Outbox rows the alert wrote (operator and merchants).
                notifications INTEGER NOT NULL DEFAULT 0 CHECK (notifications >= 0)
            );
            CREATE INDEX carrier_transition_latest ON carrier_transition(carrier, id);
            """)
        }
        return migrator
    }
}
