-- Amazon Shipping.
--
-- Talks to the Selling Partner API Shipping v2 tracking endpoint
-- (GET /shipping/v2/tracking?trackingId=...&carrierId=...), authorised by a
-- Login with Amazon access token (refresh_token grant at api.amazon.com). It
-- reads both the v2 body ({"payload": {...}}) and the v1 body (a bare
-- {trackingId, eventHistory, summary} object, as older integrations recorded).
-- Amazon's event times are UTC ("2019-04-04T06:45:12Z") with no local zone, so
-- events are shown in UTC.

local DEFAULT_BASE = "https://sellingpartnerapi-na.amazon.com"
local TOKEN_URL = "https://api.amazon.com/auth/o2/token"

---------------------------------------------------------------------------
-- Status table: eventHistory[].eventCode and summary.status.
---------------------------------------------------------------------------
local STATUS = {
  ReadyForReceive = "info_received",          -- label bought, waiting for Amazon to receive the parcel
  PreTransit = "info_received",               -- summary: the same, nothing scanned yet
  PickupDone = "in_transit",                  -- carrier picked the parcel up
  ArrivedAtCarrierFacility = "in_transit",
  Departed = "in_transit",
  InTransit = "in_transit",
  OutForDelivery = "out_for_delivery",
  -- DeliveryAttempted: the driver reached the address and could not deliver.
  DeliveryAttempted = "attempt_failed",
  AvailableForPickup = "available_for_pickup",
  Delivered = "delivered",
  Lost = "exception",                         -- Amazon declared the parcel lost
  -- Rejected (refused by the recipient) and Undeliverable start a return;
  -- they are not final, so exception rather than returned_to_sender.
  Rejected = "exception",
  Undeliverable = "exception",
  PickupCancelled = "exception",              -- the pickup will not happen; nothing is moving
  ReturnInitiated = "exception",              -- return leg starts (not yet back with the shipper)
  ReturnInTransit = "exception",
  Returned = "returned_to_sender",            -- back with the shipper: final
}
local DEFAULT_STATUS = "in_transit"

-- Amazon sends codes without text; these are the texts shown for them.
local DESCRIPTIONS = {
  ReadyForReceive = "Ready for receive",
  PickupDone = "Picked up",
  ArrivedAtCarrierFacility = "Arrived at carrier facility",
  Departed = "Departed",
  InTransit = "In transit",
  OutForDelivery = "Out for delivery",
  DeliveryAttempted = "Delivery attempted",
  AvailableForPickup = "Available for pickup",
  Delivered = "Delivered",
  Lost = "Lost",
  Rejected = "Rejected by the recipient",
  Undeliverable = "Undeliverable",
  PickupCancelled = "Pickup cancelled",
  ReturnInitiated = "Return initiated",
  ReturnInTransit = "Return in transit",
  Returned = "Returned to sender",
}

---------------------------------------------------------------------------
-- Helpers
---------------------------------------------------------------------------

local str = text.clean        -- trimmed text; integral numbers as digits; nil when empty
local tbl = value.table       -- the value when it is a table, else nil
local norm_code = text.code   -- upper case, no whitespace; nil when empty
local short = text.short      -- one line, cut at n bytes

local function read_time(text)
  text = str(text)
  if not text then return nil end
  return (time.parse(text, "iso", "UTC"))
end

-- "OutForDelivery" → "Out for delivery" for codes we have no text for.
local function words(code)
  local s = code:gsub("(%l)(%u)", "%1 %2"):lower()
  return (s:gsub("^%l", string.upper))
end

---------------------------------------------------------------------------
-- Parsing
---------------------------------------------------------------------------

local function read_events(history, warned)
  local events = {}
  for i, e in ipairs(tbl(history) or {}) do
    e = tbl(e)
    if e then
      local utc = read_time(e.eventTime)
      local code = str(e.eventCode) or ""
      local status = STATUS[code]
      if not status then
        status = DEFAULT_STATUS
        if code ~= "" and not warned[code] then
          warned[code] = true
          log.warn("amazon_shipping: unknown event code", { code = code })
        end
      end
      if utc then
        local l = tbl(e.location) or {}
        local loc = {
          city = str(l.city),
          state = str(l.stateOrRegion),
          postal = str(l.postalCode),
          country = str(l.countryCode),
        }
        if next(loc) == nil then loc = nil end
        events[#events + 1] = {
          occurred_at = utc, zone = "UTC", status = status, code = code,
          description = DESCRIPTIONS[code] or (code ~= "" and words(code)) or "",
          location = loc, _i = i,
        }
      end
    end
  end
  -- Newest first; Amazon lists the history oldest first. Ties keep the later entry first.
  table.sort(events, function(a, b)
    if a.occurred_at ~= b.occurred_at then return a.occurred_at > b.occurred_at end
    return a._i > b._i
  end)
  for _, e in ipairs(events) do e._i = nil end
  return events
end

local function read_shipment(p, warned)
  local events = read_events(p.eventHistory, warned)
  local summary = tbl(p.summary) or {}
  local out = { events = events }
  local s = STATUS[str(summary.status) or ""]
  out.status = s or (events[1] and events[1].status) or nil
  out.estimated_delivery = read_time(p.promisedDeliveryDate)
  if out.status == "delivered" then
    for _, e in ipairs(events) do
      if e.status == "delivered" then out.delivered_at = e.occurred_at; break end
    end
  end
  return out
end

local function error_failure(errors)
  local first = tbl(errors[1]) or {}
  local code = str(first.code)
  local message = str(first.message) or code or "Amazon Shipping returned an error"
  local details = str(first.details)
  if details and details ~= message then message = message .. " (" .. short(details, 200) .. ")" end
  local c = (code or ""):lower()
  if c:find("unauthori", 1, true) or c:find("accessdenied", 1, true) or c:find("token", 1, true) or c == "forbidden" then
    return failure.auth(message, code)
  end
  if c:find("quota", 1, true) or c:find("throttl", 1, true) or c:find("toomany", 1, true) then
    return failure.rate_limited(nil, message, code)
  end
  if c:find("notfound", 1, true) or c:find("not_found", 1, true) then return failure.not_found(message, code) end
  if c:find("internal", 1, true) or c:find("unavailable", 1, true) then return failure.temporary(message, code) end
  if c == "invalidinput" or c:find("invalid", 1, true) then return failure.invalid_number(message, code) end
  return failure.broken(message, code)
end

local function from_json(doc, codes)
  if type(doc) ~= "table" then return failure.broken("JSON body is not an object", nil) end
  local errors = tbl(doc.errors)
  if errors and errors[1] then return error_failure(errors) end
  local p = tbl(doc.payload) or doc
  if p.eventHistory == nil and p.trackingId == nil then
    if doc.access_token ~= nil then return failure.broken("got a token response, not a tracking reply", nil) end
    return failure.broken("JSON without 'payload' / 'trackingId' / 'eventHistory'", nil)
  end
  if p.eventHistory ~= nil and not tbl(p.eventHistory) then return failure.broken("'eventHistory' is not a list", nil) end
  local number = norm_code(str(p.trackingId))
  local key
  for _, c in ipairs(tbl(codes) or {}) do
    if not number or norm_code(c) == number then key = c; break end
  end
  key = key or number
  if not key then return failure.broken("tracking reply without 'trackingId'", nil) end
  return { [key] = read_shipment(p, {}) }
end

local function error_message(body)
  local doc = json.decode(body)
  if type(doc) ~= "table" then return nil end
  local errors = tbl(doc.errors)
  local first = errors and tbl(errors[1])
  if first then return str(first.message) or str(first.code) end
  return str(doc.error_description) or (type(doc.error) == "string" and str(doc.error)) or str(doc.message)
end

local function parse(response, codes, ctx)
  if type(response) ~= "table" then return failure.broken("no response", nil) end
  local f = http.triage(response, { message = error_message, refused = "Amazon refused the token",
                                   expect = "JSON from Amazon Shipping", now = tbl(ctx) and ctx.now })
  if f then return f end
  local status = math.tointeger(tonumber(response.status)) or 0
  local body = type(response.body) == "string" and response.body or ""
  if body:sub(1, 3) == "\239\187\191" then body = body:sub(4) end
  local first = body:match("^%s*(%S)")
  local out
  if not first then
    out = failure.broken("empty body", nil)
  elseif first ~= "{" and first ~= "[" then
    local title = str(body:match("<[Tt][Ii][Tt][Ll][Ee][^>]*>([^<]*)<"))
    out = failure.broken("expected JSON from Amazon Shipping, body starts with '" .. short(body:match("^%s*(.*)"), 40) .. "'"
      .. (title and (" (title: '" .. short(title, 80) .. "')") or ""), nil)
  else
    local doc, err = json.decode(body)
    if doc == nil then out = failure.broken("body is not valid JSON: " .. short(tostring(err), 160), nil)
    else out = from_json(doc, codes) end
  end
  if status >= 200 and status < 300 then return out end
  if out.failure ~= "broken" then return out end
  local msg = error_message(body)
  return failure.broken("HTTP " .. status .. (msg and (": " .. msg) or ""), nil)
end

---------------------------------------------------------------------------
-- Contract functions
---------------------------------------------------------------------------

-- Amazon Logistics numbers are TBA + 12 digits; numbers of Amazon Shipping's
-- partner legs are 12 to 22 digits. Neither has a published check digit.
local function validate(code)
  if type(code) ~= "string" then return false, "tracking number must be text" end
  local s = code:gsub("%s+", ""):upper()
  if s:match("^TBA%d+$") then
    if #s ~= 15 then return false, ("TBA numbers have 12 digits after TBA, got %d"):format(#s - 3) end
    return true
  end
  if s:match("^%d+$") then
    if #s < 12 or #s > 22 then return false, ("expected TBA + 12 digits or 12-22 digits, got %d digits"):format(#s) end
    return true
  end
  return false, "expected TBA + 12 digits (e.g. TBA123456789000) or 12-22 digits"
end

local function auth(config)
  config = tbl(config) or {}
  local id, secret, refresh = str(config.client_id), str(config.client_secret), str(config.refresh_token)
  if not id or not secret or not refresh then
    error("amazon_shipping: config.client_id, config.client_secret and config.refresh_token are required (LWA app credentials)", 0)
  end
  local token_url = TOKEN_URL
  if str(config.base_url) then token_url = http.base_url(config, DEFAULT_BASE) .. "/auth/o2/token" end
  return {
    method = "POST",
    url = token_url,
    headers = { ["Content-Type"] = "application/x-www-form-urlencoded", ["Accept"] = "application/json" },
    body = url.query({ grant_type = "refresh_token", refresh_token = refresh, client_id = id, client_secret = secret }),
    timeout = 30,
  }
end

local function parse_auth(response, config, ctx)
  if type(response) ~= "table" then return failure.broken("no response", nil) end
  local f = http.triage(response, { message = error_message, refused = "Login with Amazon refused the credentials", token = true,
                                   now = tbl(ctx) and ctx.now })
  if f then return f end
  local status = math.tointeger(tonumber(response.status)) or 0
  local body = type(response.body) == "string" and response.body or ""
  if status ~= 200 then return failure.broken("token request: HTTP " .. status, nil) end
  local doc = json.decode(body)
  if type(doc) ~= "table" then return failure.broken("token response is not a JSON object", nil) end
  local token = str(doc.access_token)
  if not token then return failure.broken("token response has no 'access_token'", nil) end
  local out = { token = token }
  local exp = tonumber(doc.expires_in)
  if exp and exp > 0 then out.expires_in = math.floor(exp) end
  return out
end

local function request(codes, config, ctx)
  config = tbl(config) or {}
  local code = norm_code(tbl(codes) and codes[1]) or ""
  local headers = {
    ["Accept"] = "application/json",
    ["x-amzn-shipping-business-id"] = str(config.business_id) or "AmazonShipping_US",
  }
  local token = str(tbl(ctx) and ctx.token)
  if token then headers["x-amz-access-token"] = token end
  return {
    method = "GET",
    url = http.base_url(config, DEFAULT_BASE) .. "/shipping/v2/tracking?" .. url.query({
      trackingId = code, carrierId = str(config.carrier_id) or "AMZN_US",
    }),
    headers = headers,
    timeout = 30,
  }
end

return {
  id = "amazon_shipping",
  name = "Amazon Shipping",
  api = 1,
  hosts = { "sellingpartnerapi-na.amazon.com", "sellingpartnerapi-eu.amazon.com", "sellingpartnerapi-fe.amazon.com",
            "api.amazon.com" },
  tracking_url = "https://track.amazon.com/tracking/{code}",
  limits = { concurrency = 2, per_second = 1, batch = 1 },
  validate = check.guard(validate),
  auth = auth,
  parse_auth = failure.guard(parse_auth, "amazon_shipping script"),
  request = request,
  parse = failure.guard(parse, "amazon_shipping script"),
}
