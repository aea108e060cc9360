-- Default notification rules: what the e-commerce platform did, as a starting point.
--
-- Customers get an email on every status change after dispatch, with their own
-- templates for "out for delivery", "delivered" and problems; the marketplace
-- hears about every change and, separately, about the delivery; when the
-- tracking window ends without a delivery both are told (a loud expiry).
--
-- A merchant's own rules go in rules/<merchant>.lua (see rules/example_store.lua);
-- when that file fails, these rules apply instead.

local PROBLEM = { exception = true, attempt_failed = true, returned_to_sender = true }

local function template_for(from, to)
  if to == "delivered" then return "delivered" end
  if to == "out_for_delivery" then return "out_for_delivery" end
  if PROBLEM[to] then return "delivery_exception" end
  if from == "pending" then return "order_shipped" end   -- the carrier's first report
  return "status_update"
end

return {
  -- A shipment was registered (by the API's invoice call, the CLI …).
  on_registered = function(ctx)
    if ctx.shipment.invoice_number then
      return { email{ template = "order_invoiced" } }
    end
  end,

  -- New events arrived; ctx.from ~= ctx.to when the status moved.
  on_change = function(ctx)
    if ctx.from == ctx.to then return {} end   -- new scans, same status: nothing to say
    local out = {
      email{ template = template_for(ctx.from, ctx.to) },
      webhook{ endpoint = "marketplace", event = "shipment.status_changed" },
    }
    if ctx.to == "delivered" then
      out[#out + 1] = webhook{ endpoint = "marketplace", event = "shipment.delivered" }
    end
    return out
  end,

  -- The window ended without a delivery.
  on_expired = function(ctx)
    return {
      email{ template = "expired" },
      webhook{ endpoint = "marketplace", event = "shipment.expired" },
    }
  end,

  -- A carrier integration changed state (ctx.alert.state: healthy, degraded or
  -- broken). These defaults speak to the operator only: an email to
  -- RASTRO_OPERATOR_EMAIL and the operator's "alerts" webhook, if set up
  -- (`rastro merchant webhook _operator alerts --url …`). A merchant's own rules
  -- can define this hook to tell customers (ctx.shipment is then set).
  on_carrier_alert = function(ctx)
    if ctx.shipment then return {} end
    local out = { webhook{ endpoint = "alerts", event = "carrier." .. ctx.alert.state } }
    if ctx.operator and ctx.operator.email then
      out[#out + 1] = email{ template = "carrier_alert", to = ctx.operator.email }
    end
    return out
  end,
}
