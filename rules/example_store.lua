-- Rules for the merchant "example_store" (the file name is the merchant's name).
-- Shows: quiet hours, skipping a status, an extra recipient, and telling customers when a carrier breaks.
-- Anything not handled here is NOT inherited from default.lua: a merchant file
-- replaces the default rules for that merchant (it falls back to them only when
-- this file fails to load or run).

local QUIET_FROM, QUIET_UNTIL = 22, 8        -- no customer email between 22:00 and 08:00

-- ctx.clock is the shop's local time (RASTRO_ZONE); ctx.clock.next["08:00"] is the
-- next time the local clock reads 08:00, in UTC, ready for `at` ("send no earlier than").
local function after_quiet_hours(clock)
  if clock.hour >= QUIET_FROM or clock.hour < QUIET_UNTIL then
    return clock.next[string.format("%02d:00", QUIET_UNTIL)]
  end
  return nil
end

return {
  on_change = function(ctx)
    if ctx.from == ctx.to then return {} end
    -- This shop does not email "in transit" hops; the marketplace still hears of them.
    local out = { webhook{ endpoint = "marketplace", event = "shipment.status_changed" } }
    if ctx.to == "in_transit" and ctx.from ~= "pending" then return out end

    local template = ({ delivered = "delivered", out_for_delivery = "out_for_delivery",
                        exception = "delivery_exception", attempt_failed = "delivery_exception",
                        returned_to_sender = "delivery_exception" })[ctx.to]
                     or (ctx.from == "pending" and "order_shipped" or "status_update")
    out[#out + 1] = email{ template = template, at = after_quiet_hours(ctx.clock) }
    -- Problems also go to the shop's support desk, right away and in Portuguese.
    if template == "delivery_exception" then
      out[#out + 1] = email{ template = template, to = "suporte@example-store.com.br", locale = "pt-BR" }
    end
    if ctx.to == "delivered" then
      out[#out + 1] = webhook{ endpoint = "marketplace", event = "shipment.delivered" }
    end
    return out
  end,

  -- A carrier integration broke (carrier health): tell this shop's customers, once
  -- per active shipment with that carrier, that tracking updates are delayed.
  -- Degraded and recovered say nothing to customers; the operator hears of all three.
  on_carrier_alert = function(ctx)
    if ctx.shipment and ctx.alert.state == "broken" then
      return { email{ template = "tracking_delayed", at = after_quiet_hours(ctx.clock) } }
    end
    return {}
  end,

  on_expired = function(ctx)
    return {
      email{ template = "expired" },
      email{ template = "expired", to = "suporte@example-store.com.br", locale = "pt-BR" },
      webhook{ endpoint = "marketplace", event = "shipment.expired" },
    }
  end,
}
