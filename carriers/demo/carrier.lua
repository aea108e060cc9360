-- Demo carrier: a fake carrier whose tracking feed is served by `rastro serve`
-- itself (GET /demo-carrier/v1/track), so the quick start shows parcels moving
-- with no account and no network. It is also the smallest complete example of
-- a carrier script: copy it to start a new one.
--
-- Numbers: DEMO-<SCENARIO>-<anything>, SCENARIO one of DELIVERED, EXCEPTION,
-- RETURNED, PICKUP, STUCK. Each walks through its events a few seconds apart,
-- counted from the shipment's dispatch time (sent with the request).

---------------------------------------------------------------------------
-- Status table: the feed's event codes -> normalized status.
---------------------------------------------------------------------------
local STATUS = {
  PO = "info_received",        -- label created: the carrier knows the parcel, has not scanned it
  AF = "in_transit",           -- arrived at the sorting centre
  TR = "in_transit",
  OD = "out_for_delivery",
  NA = "attempt_failed",       -- nobody home; the parcel stays on the route
  EX = "exception",            -- needs someone to act (address not found)
  PU = "available_for_pickup",
  DL = "delivered",
  RS = "returned_to_sender",
}

return {
  id = "demo",
  name = "Demo Carrier",
  api = 1,
  -- The feed runs inside rastro; `rastro serve` passes its own address as config.base_url.
  hosts = { "127.0.0.1" },
  tracking_url = "http://127.0.0.1:8080/demo-carrier/v1/track?c={code}",
  -- A fast cadence so the demo moves in seconds; real carriers keep the 6 h default.
  poll = { every = "5s", window = "10m" },
  limits = { batch = 20, concurrency = 2, per_second = 20 },

  validate = function(code)
    if code:match("^DEMO%-[A-Z]+%-[%w]+$") then return true end
    return false, "demo numbers look like DEMO-DELIVERED-1"
  end,

  request = function(codes, config, ctx)
    local dispatched = {}
    for i, code in ipairs(codes) do
      local shipment = ctx.shipments and ctx.shipments[code]
      dispatched[i] = shipment and shipment.dispatched_at or ctx.now
    end
    return {
      url = (config.base_url or "http://127.0.0.1:8080") .. "/demo-carrier/v1/track?" .. url.query{ c = codes, d = dispatched },
      headers = { Accept = "application/json" },
      timeout = 10,
    }
  end,

  parse = function(response, codes, ctx)
    if response.status >= 500 then return failure.temporary("demo feed answered " .. response.status) end
    if response.status ~= 200 then return failure.broken("demo feed answered " .. response.status) end
    local doc = json.decode(response.body)
    if type(doc) ~= "table" or type(doc.parcels) ~= "table" then
      return failure.broken("the demo feed's answer has no parcels list")
    end
    local results = {}
    for _, parcel in ipairs(doc.parcels) do
      if type(parcel) ~= "table" or type(parcel.code) ~= "string" then
        return failure.broken("a parcel in the demo feed's answer has no code")
      end
      if parcel.error == "not_found" then
        results[parcel.code] = failure.not_found("the demo feed has no scenario for " .. parcel.code)
      else
        local events = {}
        if parcel.events ~= nil and type(parcel.events) ~= "table" then
          return failure.broken("events of " .. parcel.code .. " is not a list")
        end
        for _, e in ipairs(parcel.events or {}) do
          if type(e) ~= "table" then return failure.broken("an event of " .. parcel.code .. " is not an object") end
          local status = STATUS[e.code]
          if not status then return failure.broken("unknown demo event code " .. tostring(e.code)) end
          -- A time we cannot read means the feed changed shape: say so rather than guess.
          local at, why = time.parse(tostring(e.time), "iso", "UTC")
          if not at then return failure.broken(why) end
          events[#events + 1] = {
            occurred_at = at,
            zone = "America/Sao_Paulo",
            status = status,
            code = e.code,
            description = e.text,
            location = { city = e.city, state = e.state, country = "BR" },
          }
        end
        results[parcel.code] = { events = events }
      end
    end
    return results
  end,
}
