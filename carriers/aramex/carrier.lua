-- Aramex (Middle East and worldwide express).
--
-- Shipping Services API v1, Tracking service (SOAP 1.1):
--   POST https://ws.aramex.net/ShippingAPI.V2/Tracking/Service_1_0.svc
--   SOAPAction http://ws.aramex.net/ShippingAPI/v1/Service_1_0/TrackShipments
-- No token: every request carries ClientInfo (config.username,
-- config.password, config.account_number, config.account_pin,
-- config.account_entity, config.account_country_code). Several waybills per
-- call (Shipments/string[]). The answer (ShipmentTrackingResponse) holds
-- HasErrors + Notifications (ERR01 = bad credentials), TrackingResults (one
-- KeyValueOf... per waybill with its TrackingResult[] newest first) and
-- NonExistingWaybills. The JSON flavour of the same service
-- (.../Service_1_0.svc/json/TrackShipments) is read too.
-- UpdateDateTime is the local wall time of the scan's location with no
-- offset, and the location's zone is not given: events carry "UTC" so the
-- printed time is what is shown.

local DEFAULT_BASE = "https://ws.aramex.net"
local SERVICE_PATH = "/ShippingAPI.V2/Tracking/Service_1_0.svc"
local NS = "http://ws.aramex.net/ShippingAPI/v1/"

---------------------------------------------------------------------------
-- Status table: Aramex UpdateCode -> normalized status. Aramex publishes no
-- complete code list; these are the codes seen in its tracking pages and docs.
---------------------------------------------------------------------------
local STATUS = {
  -- SH014 "Record created": the shipper created the waybill; Aramex does not hold it yet.
  ["SH014"] = "info_received",
  ["SH012"] = "in_transit",        -- Picked up from shipper (first physical scan)
  ["SH047"] = "in_transit",        -- Received at origin facility
  ["SH001"] = "in_transit",        -- Departed / shipment on its way
  ["SH002"] = "in_transit",        -- Arrived at destination facility (uncertain: some pages say "Received at operations facility")
  ["SH022"] = "in_transit",        -- Customs clearance in progress (routine step)
  ["SH073"] = "in_transit",        -- Forwarded to the destination country's delivery partner
  ["SH003"] = "out_for_delivery",  -- Out for delivery
  ["SH005"] = "delivered",         -- Delivered
  ["SH006"] = "delivered",         -- Collected by consignee at an Aramex office (the parcel is in their hands)
  ["SH007"] = "delivered",         -- Delivered (signature on file)
  ["SH154"] = "delivered",         -- Delivered to a neighbour / authorised recipient
  ["SH234"] = "delivered",         -- Delivered to the consignee's shop / locker collection confirmed
  -- Attempts: Aramex went to the door and could not deliver.
  ["SH033"] = "attempt_failed",    -- Attempted delivery - consignee not available
  ["SH043"] = "attempt_failed",    -- Attempted delivery - address incomplete / consignee refused
  ["SH070"] = "attempt_failed",    -- Attempted delivery - consignee requested a later date
  ["SH076"] = "attempt_failed",    -- Attempted delivery - consignee not reachable by phone
  ["SH008"] = "exception",         -- On hold (uncertain: "Shipment on hold / held for clarification")
  ["SH294"] = "available_for_pickup", -- Ready for collection at an Aramex office / shop
  ["SH069"] = "exception",         -- Returned towards shipper: the return leg starts (not final)
  ["SH496"] = "returned_to_sender", -- Returned to shipper (final)
}
-- Unknown codes: the description decides (keywords below), else in_transit,
-- since every Aramex update is a scan of a shipment it handles.
local KEYWORDS = {
  { "out for delivery", "out_for_delivery" },
  { "returned to shipper", "returned_to_sender" },
  { "return to shipper", "exception" },
  { "attempt", "attempt_failed" },
  { "collected by consignee", "delivered" },
  { "delivered", "delivered" },
  { "ready for collection", "available_for_pickup" },
  { "on hold", "exception" },
  { "record created", "info_received" },
}
local DEFAULT_STATUS = "in_transit"

-- Notification codes that mean the ClientInfo was refused.
local AUTH_CODES = { ERR01 = true, ERR02 = true, ERR03 = true }

---------------------------------------------------------------------------
-- Helpers
---------------------------------------------------------------------------
local trim = text.clean       -- trimmed text; nil when empty
local short = text.short      -- one line, cut at n bytes (default 120)

local function xml_escape(s)
  return (tostring(s or ""):gsub("&", "&amp;"):gsub("<", "&lt;"):gsub(">", "&gt;"))
end

local function status_for(code, description)
  local s = STATUS[code]
  if s then return s end
  local d = (description or ""):lower()
  for _, kw in ipairs(KEYWORDS) do
    if d:find(kw[1], 1, true) then return kw[2] end
  end
  log.warn("unknown Aramex update code", { code = code, description = description })
  return DEFAULT_STATUS
end

---------------------------------------------------------------------------
-- validate: Aramex waybills (AWB) are 8 to 12 digits (most are 10-11);
-- Aramex publishes no check digit.
---------------------------------------------------------------------------
local function validate(code)
  if type(code) ~= "string" then return false, "not a string" end
  local c = code:gsub("%s+", "")
  if not c:match("^%d+$") then return false, "letters: an Aramex waybill is digits only" end
  if #c < 8 or #c > 12 then return false, "length: an Aramex waybill has 8 to 12 digits" end
  return true
end

---------------------------------------------------------------------------
-- request
---------------------------------------------------------------------------
local function request(codes, config, ctx)
  config = config or {}
  local function el(name, v) return "<v1:" .. name .. ">" .. xml_escape(v) .. "</v1:" .. name .. ">" end
  local shipments = {}
  for _, c in ipairs(codes) do shipments[#shipments + 1] = "<arr:string>" .. xml_escape(c) .. "</arr:string>" end
  local body = '<?xml version="1.0" encoding="UTF-8"?>'
    .. '<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" xmlns:v1="' .. NS .. '"'
    .. ' xmlns:arr="http://schemas.microsoft.com/2003/10/Serialization/Arrays">'
    .. '<soapenv:Header/><soapenv:Body><v1:ShipmentTrackingRequest>'
    .. '<v1:ClientInfo>'
    .. el("UserName", config.username) .. el("Password", config.password) .. el("Version", "v1.0")
    .. el("AccountNumber", config.account_number) .. el("AccountPin", config.account_pin)
    .. el("AccountEntity", config.account_entity) .. el("AccountCountryCode", config.account_country_code)
    .. el("Source", config.source or "24")
    .. '</v1:ClientInfo>'
    .. '<v1:Transaction>' .. el("Reference1", "") .. el("Reference2", "") .. el("Reference3", "")
    .. el("Reference4", "") .. el("Reference5", "") .. '</v1:Transaction>'
    .. '<v1:Shipments>' .. table.concat(shipments) .. '</v1:Shipments>'
    .. el("GetLastTrackingUpdateOnly", "false")
    .. '</v1:ShipmentTrackingRequest></soapenv:Body></soapenv:Envelope>'
  return {
    method = "POST",
    url = http.base_url(config, DEFAULT_BASE) .. SERVICE_PATH,
    headers = {
      ["Content-Type"] = "text/xml; charset=utf-8",
      Accept = "text/xml",
      SOAPAction = NS .. "Service_1_0/TrackShipments",
    },
    body = body,
    timeout = 30,
  }
end

---------------------------------------------------------------------------
-- parse
---------------------------------------------------------------------------
-- "2019-11-05T14:07:00" (wall time, no zone) or with an offset;
-- JSON: "/Date(1572948420000+0400)/".
local function read_time(text)
  text = trim(text)
  if not text then return nil end
  local ms, sign, hh, mm = text:match("^/Date%((%-?%d+)([%+%-]?)(%d?%d?)(%d?%d?)%)/$")
  if ms and #ms <= 15 then
    local secs = math.floor(tonumber(ms) / 1000)
    local days = secs // 86400
    local rem = secs - days * 86400
    -- civil-from-days (Howard Hinnant)
    local z = days + 719468
    local era = (z >= 0 and z or z - 146096) // 146097
    local doe = z - era * 146097
    local yoe = (doe - doe // 1460 + doe // 36524 - doe // 146096) // 365
    local y = yoe + era * 400
    local doy = doe - (365 * yoe + yoe // 4 - yoe // 100)
    local mp = (5 * doy + 2) // 153
    local d = doy - (153 * mp + 2) // 5 + 1
    local m = mp < 10 and mp + 3 or mp - 9
    if m <= 2 then y = y + 1 end
    local iso = string.format("%04d-%02d-%02dT%02d:%02d:%02dZ", y, m, d, rem // 3600, rem % 3600 // 60, rem % 60)
    local zone = "UTC"
    if sign ~= "" and #hh == 2 and #mm == 2 then zone = sign .. hh .. ":" .. mm end
    return iso, zone
  end
  local at = time.parse(text, "iso", "UTC")
  if not at then return nil end
  local sign2, oh, om = text:match("T[%d:%.]+([%+%-])(%d%d):?(%d%d)$")
  if sign2 then return at, sign2 .. oh .. ":" .. om end
  return at, "UTC"
end

local function location_of(text)
  text = trim(text)
  if not text then return nil end
  local parts = {}
  for p in text:gmatch("[^,]+") do
    local t = trim(p)
    if t then parts[#parts + 1] = t end
  end
  if #parts == 0 then return nil end
  if #parts == 1 then return { city = parts[1] } end
  -- "Dubai, United Arab Emirates": city, country
  return { city = parts[1], country = parts[#parts] }
end

local function make_event(get)
  local code = trim(get("UpdateCode")) or ""
  local description = trim(get("UpdateDescription")) or ""
  local at, zone = read_time(get("UpdateDateTime"))
  if not at then return nil, "unreadable UpdateDateTime '" .. short(get("UpdateDateTime"), 40) .. "'" end
  local ev = {
    occurred_at = at,
    zone = zone,
    status = status_for(code, description),
    code = code,
    description = description,
  }
  ev.location = location_of(get("UpdateLocation"))
  return ev
end

local function finish(events)
  local result = { events = events }
  for _, e in ipairs(events) do
    if e.status == "delivered" then result.delivered_at = e.occurred_at; break end
  end
  return result
end

local function notification_failure(code, message)
  message = message or ("Aramex error " .. (code or "?"))
  if (code and AUTH_CODES[code]) or message:find("ClientInfo", 1, true) then
    return failure.auth(message, code)
  end
  return failure.broken("Aramex notification " .. (code or "") .. ": " .. short(message, 200), code)
end

local function parse_xml(doc, response)
  local fault = doc:find("Body/Fault")
  if fault then
    local f = http.triage(response)
    if f then return f end
    return failure.broken("SOAP fault: " .. short(fault:text("faultstring") or "", 200))
  end
  local r = doc:find("Body/ShipmentTrackingResponse")
  if not r then
    if doc.name == "ShipmentTrackingResponse" then r = doc end
  end
  if not r then
    local f = http.triage(response)
    if f then return f end
    return failure.broken("expected ShipmentTrackingResponse, got <" .. tostring(doc.name) .. ">")
  end
  local results = {}
  local found = false
  local tr = r:child("TrackingResults")
  if tr then
    for _, kv in ipairs(tr:children("*")) do
      local key = kv:text("Key")
      local value = kv:child("Value")
      local events = {}
      if value then
        for _, t in ipairs(value:children("TrackingResult")) do
          key = key or t:text("WaybillNumber")
          local ev, problem = make_event(function(n) return t:text(n) end)
          if not ev then return failure.broken("Aramex " .. problem) end
          events[#events + 1] = ev
        end
      end
      if key then
        found = true
        if #events == 0 then results[key] = failure.not_found('Waybill "' .. key .. '" has no updates')
        else results[key] = finish(events) end
      end
    end
  end
  local ne = r:child("NonExistingWaybills")
  if ne then
    for _, s in ipairs(ne:children("*")) do
      local w = trim(s.value)
      if w then
        found = true
        results[w] = failure.not_found('Waybill "' .. w .. '" Not Found')
      end
    end
  end
  local has_errors = (r:text("HasErrors") or ""):lower() == "true"
  if has_errors and not found then
    local n = r:find("Notifications/Notification")
    if n then return notification_failure(n:text("Code"), n:text("Message")) end
    local f = http.triage(response)
    if f then return f end
    return failure.broken("HasErrors without a notification")
  end
  if not found then
    local f = http.triage(response)
    if f then return f end
    if not r:child("HasErrors") then return failure.broken("ShipmentTrackingResponse without HasErrors") end
  end
  return results
end

local function parse_json(doc, response)
  if type(doc) ~= "table" or (doc.HasErrors == nil and doc.TrackingResults == nil) then
    local f = http.triage(response)
    if f then return f end
    return failure.broken("expected Aramex JSON with HasErrors/TrackingResults")
  end
  local results, found = {}, false
  if type(doc.TrackingResults) == "table" then
    for _, kv in ipairs(doc.TrackingResults) do
      if type(kv) == "table" then
        local key = trim(kv.Key)
        local events = {}
        if type(kv.Value) == "table" then
          for _, t in ipairs(kv.Value) do
            if type(t) ~= "table" then return failure.broken("Aramex TrackingResult is not an object") end
            key = key or trim(t.WaybillNumber)
            local ev, problem = make_event(function(n) local v = t[n]; if v == json.null then return nil end; return v end)
            if not ev then return failure.broken("Aramex " .. problem) end
            events[#events + 1] = ev
          end
        end
        if key then
          found = true
          if #events == 0 then results[key] = failure.not_found('Waybill "' .. key .. '" has no updates')
          else results[key] = finish(events) end
        end
      end
    end
  end
  if type(doc.NonExistingWaybills) == "table" then
    for _, w in ipairs(doc.NonExistingWaybills) do
      w = trim(w)
      if w then found = true; results[w] = failure.not_found('Waybill "' .. w .. '" Not Found') end
    end
  end
  if doc.HasErrors == true and not found then
    local n = type(doc.Notifications) == "table" and doc.Notifications[1]
    if type(n) == "table" then return notification_failure(trim(n.Code), trim(n.Message)) end
    local f = http.triage(response)
    if f then return f end
    return failure.broken("HasErrors without a notification")
  end
  if not found then
    local f = http.triage(response)
    if f then return f end
  end
  return results
end

local function parse(response, codes, ctx)
  local body = response.body or ""
  local first = body:match("^%s*(.)")
  if first == "{" then
    local doc = json.decode(body)
    if not doc then
      local f = http.triage(response)
      if f then return f end
      return failure.broken("truncated or invalid Aramex JSON")
    end
    return parse_json(doc, response)
  end
  local doc = xml.parse(body)
  if not doc then
    local f = http.triage(response)
    if f then return f end
    return failure.broken("expected Aramex SOAP XML, got: " .. short(body, 80))
  end
  return parse_xml(doc, response)
end

return {
  id = "aramex",
  name = "Aramex",
  api = 1,
  hosts = { "ws.aramex.net" },
  tracking_url = "https://www.aramex.com/track/results?ShipmentNumber={code}",
  limits = { concurrency = 2, per_second = 5, batch = 50 },
  validate = validate,
  request = request,
  parse = parse,
}
