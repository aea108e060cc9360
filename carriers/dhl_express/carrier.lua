-- DHL Express: MyDHL API (REST).
--
-- GET {base}/tracking?shipmentTrackingNumber=A&shipmentTrackingNumber=B
--     &trackingView=all-checkpoints&levelOfDetail=all
-- with HTTP Basic (config.api_key : config.api_secret, the MyDHL API
-- username/password; config.username/config.password are accepted too).
-- Default base https://express.api.dhl.com/mydhlapi (the test environment is
-- .../mydhlapi/test: set config.base_url). Up to 10 waybills per call.
-- Answers {"shipments": [{shipmentTrackingNumber, events: [{date, time,
-- GMTOffset, typeCode, description, serviceArea: [{code, description}],
-- signedBy}]}]}; errors are problem JSON {status, title, detail, instance}.
--
-- Also reads the retired XML-PI answers older integrations recorded
-- (TrackingResponse / AWBInfo / ShipmentEvent and ShipmentTrackingErrorResponse).
-- XML-PI times are the checkpoint's local wall time without a zone: shown as printed (UTC).

local DEFAULT_BASE_URL = "https://express.api.dhl.com/mydhlapi"
local BATCH = 10

---------------------------------------------------------------------------
-- Status table: DHL Express checkpoint codes (typeCode / EventCode).
---------------------------------------------------------------------------
local STATUS = {
  ["SA"] = "info_received",       -- shipment acknowledged: data only, DHL has not collected it yet
  ["PU"] = "in_transit",          -- shipment picked up: physical acceptance
  ["PL"] = "in_transit",          -- processed at location
  ["AF"] = "in_transit",          -- arrived at DHL facility
  ["DF"] = "in_transit",          -- departed facility
  ["AR"] = "in_transit",          -- arrived at the delivery facility
  ["PO"] = "in_transit",          -- departing origin
  ["RW"] = "in_transit",          -- weighed / re-weighed (the figure sits in the signatory field)
  ["TR"] = "in_transit",          -- transferred through
  ["TP"] = "in_transit",          -- forwarded to a third party for delivery
  ["FD"] = "in_transit",          -- forwarded for delivery
  ["CR"] = "in_transit",          -- customs clearance released
  ["CI"] = "in_transit",          -- customs clearance in progress
  ["CD"] = "in_transit",          -- clearance delay: late, still in DHL's hands, nobody must act yet
  ["TD"] = "in_transit",          -- transport delay
  ["MS"] = "in_transit",          -- mis-sorted / mis-routed: DHL corrects it itself
  ["PD"] = "in_transit",          -- partial delivery: other pieces are still on the way
  ["WC"] = "out_for_delivery",    -- with delivery courier
  ["CC"] = "available_for_pickup",-- awaiting collection by the consignee
  ["NH"] = "attempt_failed",      -- not home
  ["CA"] = "attempt_failed",      -- closed on arrival
  ["ND"] = "attempt_failed",      -- not delivered
  ["OK"] = "delivered",
  ["DD"] = "delivered",           -- delivered damaged: delivered all the same
  ["BA"] = "exception",           -- bad address: the shipper or consignee must act
  ["CM"] = "exception",           -- consignee moved
  ["RD"] = "exception",           -- refused delivery
  ["HP"] = "exception",           -- held for payment (duties)
  ["OH"] = "exception",           -- on hold
  ["SS"] = "exception",           -- shipment stopped
  ["DS"] = "exception",           -- destroyed / disposal
  ["RR"] = "exception",           -- return to shipper requested: the return leg has not started
  ["RT"] = "returned_to_sender",  -- returned to shipper
}
-- Unknown codes: a checkpoint of a shipment DHL holds.
local DEFAULT_STATUS = "in_transit"

---------------------------------------------------------------------------
-- Helpers
---------------------------------------------------------------------------

local str = text.clean        -- trimmed text; integral numbers as digits; nil when empty
local tbl = value.table       -- the value when it is a table (not json.null), else nil
local norm_code = text.code   -- upper case, no whitespace; nil when empty
local short = text.short      -- one line, cut at n bytes (default 120)

local function event_status(code, warned)
  local s = code and STATUS[code:upper()]
  if s then return s end
  local key = code or ""
  if not warned[key] then
    warned[key] = true
    log.warn("dhl_express: unknown checkpoint code, treated as " .. DEFAULT_STATUS, { code = key })
  end
  return DEFAULT_STATUS
end

-- Newest first: by time, and for equal times the one listed later first.
local function newest_first(events)
  local idx = {}
  for i, ev in ipairs(events) do idx[ev] = i end
  table.sort(events, function(a, b)
    if a.occurred_at ~= b.occurred_at then return a.occurred_at > b.occurred_at end
    return idx[a] > idx[b]
  end)
  return events
end

local function finish(events)
  newest_first(events)
  local result = { events = events }
  result.status = events[1] and events[1].status or "pending"
  if result.status == "delivered" then result.delivered_at = events[1].occurred_at end
  return result
end

-- "+01:00" / "-0400" / "GMT-04:00" -> "+hh:mm", or nil.
local function offset(s)
  s = str(s)
  if not s then return nil end
  local sign, h, m = s:match("([%+%-])(%d%d?):?(%d%d)$")
  if not sign then return nil end
  return string.format("%s%02d:%s", sign, tonumber(h), m)
end

-- Builds an event; returns nil, why when its time cannot be read.
local function make_event(date, clock, zone, code, desc, place, i)
  if not date then return nil, ("event %d has no date"):format(i) end
  local text = date .. " " .. (clock or "00:00:00")
  local at = time.parse(text, "%Y-%m-%d %H:%M:%S", zone) or time.parse(text, "%Y-%m-%d %H:%M", zone)
  if not at then return nil, ("event %d: cannot read time '%s'"):format(i, short(text, 40)) end
  return {
    occurred_at = at, zone = zone,
    code = code or "", description = desc or "",
    location = place and { facility = place } or nil,
  }
end

---------------------------------------------------------------------------
-- MyDHL API (JSON)
---------------------------------------------------------------------------

local function problem_failure(doc, http)
  local code = str(doc.status) or (http and tostring(http)) or nil
  local msg = str(doc.detail) or str(doc.title) or str(doc.message) or ("HTTP " .. (code or "?"))
  local n = tonumber(code)
  if n == 404 then return failure.not_found(msg, code) end
  if n == 401 or n == 403 then return failure.auth(msg, code) end
  if n == 429 then return failure.rate_limited(nil, msg, code) end
  if n and (n >= 500 or n == 408) then return failure.temporary(msg, code) end
  if n == 400 and msg:lower():find("tracking", 1, true) then return failure.invalid_number(msg, code) end
  return failure.broken("MyDHL API error " .. (code or "?") .. ": " .. short(msg, 200), code)
end

local function json_shipment(s, warned)
  local number = norm_code(s.shipmentTrackingNumber)
  local list = s.events
  if list == nil or list == json.null then list = {} end
  if type(list) ~= "table" then return number, failure.broken("'events' is not a list", nil) end
  if #list == 0 then
    return number, failure.not_found(str(s.detail) or str(s.message) or "DHL Express returned no events for this shipment", nil)
  end
  local events, signed = {}, nil
  for i, e in ipairs(list) do
    if type(e) ~= "table" then return number, failure.broken(("events[%d] is not an object"):format(i), nil) end
    local area = tbl(e.serviceArea)
    if area and area[1] ~= nil then area = tbl(area[1]) end
    local code = str(e.typeCode)
    local ev, why = make_event(str(e.date), str(e.time), offset(e.GMTOffset) or "UTC", code,
                               str(e.description), area and str(area.description), i)
    if not ev then return number, failure.broken(why, nil) end
    ev.status = event_status(code, warned)
    if ev.status == "delivered" then signed = str(e.signedBy) or signed end
    events[#events + 1] = ev
  end
  local result = finish(events)
  if result.status == "delivered" and signed then result.signed_by = signed end
  local eta = str(s.estimatedTimeOfDelivery)
  if eta then
    result.estimated_delivery = time.parse(eta, "iso", "UTC")
  end
  if not result.estimated_delivery and str(s.estimatedDeliveryDate) then
    result.estimated_delivery = time.parse(str(s.estimatedDeliveryDate):sub(1, 10), "%Y-%m-%d", "UTC")
  end
  return number, result
end

---------------------------------------------------------------------------
-- XML-PI (retired; recorded answers)
---------------------------------------------------------------------------

local function condition_failure(cond, action)
  local code = cond and cond:text("ConditionCode")
  local msg = cond and cond:text("ConditionData")
  if msg == "" then msg = nil end
  local text = (msg or action or ("DHL condition " .. (code or "?")))
  local low = text:lower() .. " " .. (action or ""):lower()
  if code == "103" or low:find("no shipments found", 1, true) or low:find("not found", 1, true) then
    return failure.not_found(text, code)
  end
  if low:find("password", 1, true) or low:find("siteid", 1, true) or low:find("authori", 1, true)
     or low:find("login", 1, true) or low:find("log-in", 1, true) then
    return failure.auth(text, code)
  end
  if low:find("invalid", 1, true) and low:find("awb", 1, true) then return failure.invalid_number(text, code) end
  return failure.broken("DHL XML-PI condition " .. (code or "?") .. ": " .. short(text, 200), code)
end

local function xml_awb(a, warned)
  local number = norm_code(a:text("AWBNumber"))
  local status = a:child("Status")
  local action = status and status:text("ActionStatus")
  local info = a:child("ShipmentInfo")
  local raw = info and info:children("ShipmentEvent") or {}
  if (not action or action:lower() ~= "success") and #raw == 0 then
    return number, condition_failure(status and status:child("Condition"), action)
  end
  local events, signed = {}, nil
  for i, e in ipairs(raw) do
    local se = e:child("ServiceEvent")
    local code = se and se:text("EventCode")
    local desc = se and se:text("Description")
    local sig = str(e:text("Signatory"))
    local full = desc
    if sig then full = desc and (desc .. " " .. sig) or sig end
    local zone = offset(e:text("GMTOffset")) or "UTC"
    local ev, why = make_event(e:text("Date"), e:text("Time"), zone, code, full,
                               e:find("ServiceArea/Description") and e:text("ServiceArea/Description"), i)
    if not ev then return number, failure.broken(why, nil) end
    ev.status = event_status(code, warned)
    if ev.status == "delivered" then signed = sig end
    events[#events + 1] = ev
  end
  local result = finish(events)
  if result.status == "delivered" and signed then result.signed_by = signed end
  -- "2021-05-07 23:59:00 GMT-04:00": 23:59 is DHL's end-of-day marker, so this is a date estimate.
  local est = info and info:text("EstDlvyDate")
  local day = est and est:match("^(%d%d%d%d%-%d%d%-%d%d)")
  if day then result.estimated_delivery = time.parse(day, "%Y-%m-%d", "UTC") end
  return number, result
end

---------------------------------------------------------------------------
-- Dispatch
---------------------------------------------------------------------------

local function collect(list, reader, codes)
  local requested = text.codes(codes)
  local results, count, skipped, warned = {}, 0, 0, {}
  local lone_failure
  for _, o in ipairs(list) do
    local number, outcome = reader(o, warned)
    if not number and #list == 1 and #(tbl(codes) or {}) == 1 then number = norm_code(codes[1]) end
    if number then
      local key = requested[number] or number
      if results[key] == nil then results[key] = outcome; count = count + 1 end
    else
      skipped = skipped + 1
      if outcome and outcome.failure ~= nil then lone_failure = lone_failure or outcome end
    end
  end
  if count == 0 then
    -- an AWBInfo without a number (XML-PI not found) answers the whole request
    if lone_failure then return lone_failure end
    if skipped > 0 then return failure.broken("no shipment in the response has a tracking number", nil) end
    return failure.not_found("DHL Express returned no shipments", nil)
  end
  return results
end

local function from_json(doc, codes, http)
  if type(doc) ~= "table" then return failure.broken("JSON body is not an object", nil) end
  if doc.shipments ~= nil then
    local list = tbl(doc.shipments)
    if not list then return failure.broken("'shipments' is not a list", nil) end
    local clean = {}
    for _, s in ipairs(list) do if tbl(s) then clean[#clean + 1] = s end end
    if #clean == 0 then return failure.not_found("DHL Express returned no shipments", nil) end
    return collect(clean, json_shipment, codes)
  end
  if doc.status ~= nil and (doc.detail ~= nil or doc.title ~= nil) then return problem_failure(doc, http) end
  if doc.shipmentTrackingNumber ~= nil then return collect({ doc }, json_shipment, codes) end
  local keys = {}
  for k in pairs(doc) do keys[#keys + 1] = tostring(k) end
  table.sort(keys)
  return failure.broken("JSON without 'shipments' (keys: " .. short(table.concat(keys, ", "), 100) .. ")", nil)
end

local function from_xml(root, codes)
  local name = root.name
  if name == "TrackingResponse" then
    local awbs = root:children("AWBInfo")
    if #awbs == 0 then return failure.broken("XML-PI TrackingResponse without AWBInfo", nil) end
    return collect(awbs, xml_awb, codes)
  end
  if name == "ShipmentTrackingErrorResponse" or name == "ErrorResponse" then
    local status = root:find("Response/Status")
    return condition_failure(status and status:child("Condition"), status and status:text("ActionStatus"))
  end
  return failure.broken("XML <" .. tostring(name) .. "> is not a DHL Express tracking response", nil)
end

local function parse_body(body, codes, http)
  if body:sub(1, 3) == "\239\187\191" then body = body:sub(4) end
  local first = body:match("^%s*(%S)")
  if not first then return failure.broken("empty body", nil) end
  if first == "{" or first == "[" then
    local doc, err = json.decode(body)
    if doc == nil then return failure.broken("body is not valid JSON: " .. short(tostring(err)), nil) end
    return from_json(doc, codes, http)
  end
  if first == "<" then
    local root, err = xml.parse(body)
    if not root then return failure.broken("body is not well-formed XML: " .. short(tostring(err)), nil) end
    return from_xml(root, codes)
  end
  return failure.broken("expected JSON from DHL Express, body starts with '" .. short(body:match("^%s*(.*)"), 40) .. "'", nil)
end

-- The message of a problem document ({status, title, detail}) or {message}, or nil.
local function error_message(body)
  local doc = body:match("^%s*{") and json.decode(body) or nil
  return type(doc) == "table" and (str(doc.detail) or str(doc.title) or str(doc.message)) or nil
end

local function parse(response, codes, ctx)
  if type(response) ~= "table" then return failure.broken("no response", nil) end
  local f = http.triage(response, { message = error_message, refused = "DHL Express refused the credentials", status_code = true,
                                   expect = "JSON from DHL Express", now = tbl(ctx) and ctx.now })
  if f then return f end
  local status = math.tointeger(tonumber(response.status)) or 0
  local body = type(response.body) == "string" and response.body or ""
  local out = parse_body(body, codes, status)
  if (status >= 200 and status < 300) or status == 404 then return out end
  if out.failure == nil or out.failure ~= "broken" then return out end
  return failure.broken("HTTP " .. status .. ": " .. tostring(out.message or ""), nil)
end

---------------------------------------------------------------------------
-- Contract functions
---------------------------------------------------------------------------

-- Waybills: 10 digits, the last is the first nine mod 7.
-- Piece IDs (JD + 18 digits, JJD...) carry no check we can verify.
local function validate(code)
  if type(code) ~= "string" then return false, "tracking number must be text" end
  local s = code:gsub("[%s%-]+", ""):upper()
  if s:match("^%d+$") then
    if #s ~= 10 then return false, ("a DHL Express waybill has 10 digits, got %d"):format(#s) end
    return check.verdict(check.mod7(s:sub(1, 9)), s:byte(10) - 48)
  end
  if s:match("^JD%d+$") and #s >= 18 and #s <= 22 then return true end
  if s:match("^JJD%d+$") and #s >= 12 and #s <= 30 then return true end
  return false, "expected a 10-digit DHL Express waybill or a JD/JJD piece ID"
end

local function request(codes, config, ctx)
  config = type(config) == "table" and config or {}
  local list = {}
  for _, c in ipairs(type(codes) == "table" and codes or {}) do
    local n = norm_code(c)
    if n then list[#list + 1] = n end
  end
  local headers = { Accept = "application/json" }
  local user = str(config.api_key) or str(config.username)
  local secret = str(config.api_secret) or str(config.password)
  if user and secret then headers.Authorization = "Basic " .. base64.encode(user .. ":" .. secret) end
  return {
    method = "GET",
    url = http.base_url(config, DEFAULT_BASE_URL) .. "/tracking?" .. url.query({
      shipmentTrackingNumber = list, trackingView = "all-checkpoints", levelOfDetail = "all",
    }),
    headers = headers,
    timeout = 30,
  }
end

return {
  id = "dhl_express",
  name = "DHL Express",
  api = 1,
  hosts = { "express.api.dhl.com" },
  tracking_url = "https://www.dhl.com/global-en/home/tracking/tracking-express.html?submit=1&tracking-id={code}",
  limits = { concurrency = 2, per_second = 2, batch = BATCH },
  validate = check.guard(validate),
  request = request,
  parse = failure.guard(parse, "dhl_express script"),
}
