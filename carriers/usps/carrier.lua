-- USPS (United States Postal Service).
--
-- Live: the USPS APIs v3 (apis.usps.com, the successor of the retired Web
-- Tools). OAuth 2 client credentials: POST /oauth2/v3/token with
-- {client_id, client_secret, grant_type = "client_credentials"} (config.client_id,
-- config.client_secret), then GET /tracking/v3/tracking/{number}?expand=DETAIL
-- with "Authorization: Bearer <token>". One number per request.
--
-- parse also reads the legacy Web Tools TrackV2 / TrackFieldRequest XML
-- (<TrackResponse><TrackInfo ID=..>), which recorded integrations still hold:
-- TrackSummary is the newest event, TrackDetail the older ones, newest first.
--
-- Times: v3 gives the local wall time (eventTimestamp) plus GMTOffset; that
-- offset is the event's zone. Web Tools prints a local time with no zone at all
-- (the zone of the scanning facility, unknown to us): read and shown as "UTC"
-- so the local time equals the printed one.

local DEFAULT_BASE_URL = "https://apis.usps.com"

---------------------------------------------------------------------------
-- Status table: USPS event code -> normalized status.
---------------------------------------------------------------------------
local STATUS = {
  -- Pre-shipment: a label exists, USPS does not have the item yet.
  ["GX"] = "info_received",        -- Shipping Label Created, USPS Awaiting Item
  ["MA"] = "info_received",        -- Pre-Shipment Info Sent to USPS
  ["NP"] = "info_received",        -- Origin Post is Preparing Shipment (international, before handover)
  ["TM"] = "info_received",        -- Shipment Received, Package Acceptance Pending (electronic only)

  -- Acceptance and movement through the network.
  ["03"] = "in_transit",           -- Acceptance / USPS in possession of item (the physical acceptance scan)
  ["OA"] = "in_transit",           -- Accepted at USPS Origin Facility
  ["80"] = "in_transit",           -- Picked up by shipping partner
  ["81"] = "in_transit",           -- Arrived at shipping partner facility
  ["82"] = "in_transit",           -- Departed shipping partner facility
  ["PU"] = "in_transit",           -- Picked Up
  ["10"] = "in_transit",           -- Arrived at / processed through USPS facility
  ["A1"] = "in_transit",           -- Arrived at USPS Regional Facility
  ["T1"] = "in_transit",           -- Departed USPS Regional Facility
  ["TL"] = "in_transit",           -- In Transit to Next Facility
  ["EF"] = "in_transit",           -- Departed USPS Facility
  ["SF"] = "in_transit",           -- Departed Post Office
  ["L1"] = "in_transit",           -- Departed USPS Facility (older code)
  ["U1"] = "in_transit",           -- Arrived at Unit
  ["07"] = "in_transit",           -- Arrived at Post Office (destination unit; not yet out for delivery)
  ["PC"] = "in_transit",           -- Sorting Complete (at the delivery unit)
  ["06"] = "in_transit",           -- Forwarded: moving to the new address
  ["15"] = "in_transit",           -- Mis-sent: being re-routed, still moving
  ["B1"] = "in_transit",           -- Arrived in the destination country (international)
  ["92"] = "in_transit",           -- Processed through facility (international)
  ["OF"] = "out_for_delivery",     -- Out for Delivery

  -- Delivery attempts: the carrier was there, nobody could take it.
  ["02"] = "attempt_failed",       -- Notice Left (no authorized recipient available)
  ["51"] = "attempt_failed",       -- Notice Left: business closed
  ["52"] = "attempt_failed",       -- Notice Left: receptacle full / item oversized
  ["53"] = "attempt_failed",       -- Notice Left: no secure location available
  ["54"] = "attempt_failed",       -- Notice Left: no authorized recipient available
  ["55"] = "attempt_failed",       -- Delivery Attempted: no access to delivery location
  ["56"] = "attempt_failed",       -- Delivery Attempted: addressee not available

  -- Waiting at a Post Office / locker.
  ["14"] = "available_for_pickup", -- Arrival at Pickup Point
  ["16"] = "available_for_pickup", -- Available for Pickup
  ["RP"] = "available_for_pickup", -- Held at Post Office, at customer request
  ["H0"] = "available_for_pickup", -- Held at Post Office (awaiting collection)

  ["01"] = "delivered",            -- Delivered (front door, mailbox, parcel locker, to agent...)
  ["17"] = "delivered",            -- Picked up at Post Office / by agent: the addressee has it
  ["DX"] = "attempt_failed",       -- Delivery Exception: could not be delivered today, will be re-attempted

  -- Problems that need someone to act (address, refusal, customs, damage).
  ["04"] = "exception",            -- Refused: the addressee refused it (return leg not started yet)
  ["05"] = "exception",            -- Undeliverable as Addressed
  ["08"] = "exception",            -- Dead letter / unclaimed at the Mail Recovery Center
  ["21"] = "exception",            -- No Such Number
  ["22"] = "exception",            -- Insufficient Address
  ["23"] = "exception",            -- Moved, Left No Address
  ["24"] = "exception",            -- Forward Expired
  ["25"] = "exception",            -- Addressee Unknown
  ["26"] = "exception",            -- Vacant
  ["27"] = "exception",            -- Unclaimed (return leg not started yet)
  ["28"] = "exception",            -- Deceased
  ["44"] = "exception",            -- Customer Recall: the shipper asked for it back
  ["57"] = "exception",            -- Delivery exception (animal interference, damaged...)
  ["CU"] = "exception",            -- Held in customs

  -- Return: USPS treats the item as going back; its delivery to the sender
  -- is a later "01" on the same number.
  ["09"] = "returned_to_sender",   -- Return to Sender (the return leg; the recipient will not get it)
  ["29"] = "returned_to_sender",   -- Return to Sender: not picked up
  ["31"] = "returned_to_sender",   -- Return to Sender processed
}

-- statusCategory (v3) / StatusCategory (Web Tools) -> status, when there are no events.
local CATEGORY = {
  ["pre-shipment"] = "info_received",
  ["accepted"] = "in_transit",
  ["in transit"] = "in_transit",
  ["out for delivery"] = "out_for_delivery",
  ["delivered"] = "delivered",
  ["delivery attempt"] = "attempt_failed",
  ["available for pickup"] = "available_for_pickup",
  ["alert"] = "exception",
  ["return to sender"] = "returned_to_sender",
}
local DEFAULT_STATUS = "in_transit"

---------------------------------------------------------------------------
-- helpers
---------------------------------------------------------------------------
local str = text.clean        -- trimmed text; integral numbers as digits; nil when empty
local tbl = value.table       -- the value when it is a table, else nil
local short = text.short      -- one line, cut at n bytes

local function status_for(code, warned)
  local s = STATUS[code]
  if s then return s end
  if not warned[code] then
    warned[code] = true
    log.warn("usps: unknown event code, treated as " .. DEFAULT_STATUS, { code = code })
  end
  return DEFAULT_STATUS
end

---------------------------------------------------------------------------
-- validate
---------------------------------------------------------------------------
local function validate(code)
  local c = (type(code) == "string" and code or ""):gsub("[%s%-]+", ""):upper()
  if c == "" then return false, "empty" end
  if c:match("[^%w]") then return false, "only letters and digits are allowed" end
  -- UPU S10 (Priority Mail International, Registered...): EA123456785US.
  local s10 = c:match("^%u%u(%d%d%d%d%d%d%d%d%d)%u%u$")
  if s10 then
    return check.verdict(check.s10(s10:sub(1, 8)), tonumber(s10:sub(9)))
  end
  if c:match("%D") then return false, "format: expected 20-22 digits (IMpb) or AA123456789US" end
  -- A scanned IMpb may carry the "420" + ZIP (5 or 9 digits) routing prefix.
  if (#c == 30 or #c == 34) and c:sub(1, 3) == "420" then c = c:sub(#c - 21) end
  if #c == 20 or #c == 22 then
    -- IMpb (22 digits, starting 9x) and the older 20-digit USPS barcodes:
    -- GS1 mod 10 check digit (weights 3, 1, 3... from the right).
    return check.verdict(check.gs1(c:sub(1, -2)), tonumber(c:sub(-1)))
  end
  if #c == 26 or #c == 34 then return true end  -- longer IMpb variants: format only
  return false, ("length: expected 20 or 22 digits, got %d"):format(#c)
end

---------------------------------------------------------------------------
-- USPS APIs v3 (JSON)
---------------------------------------------------------------------------
local function v3_event(e, i, warned)
  if type(e) ~= "table" then return nil, ("trackingEvents[%d] is not an object"):format(i) end
  local code = str(e.eventCode) or ""
  local stamp = str(e.eventTimestamp)
  local offset = str(e.GMTOffset)
  local zone, at = nil, nil
  if stamp and offset and offset:match("^[+-]%d%d:%d%d$") then
    zone = offset
    at = time.parse(stamp, "iso", zone)
  end
  if not at and str(e.GMTTimestamp) then
    zone = "UTC"
    at = time.parse(str(e.GMTTimestamp), "iso", "UTC")
  end
  if not at and stamp then
    zone = "UTC"
    at = time.parse(stamp, "iso", "UTC")
  end
  if not at then
    return nil, ("trackingEvents[%d] (%s): cannot read eventTimestamp %s"):format(i, code, short(stamp or "(missing)", 40))
  end
  local loc = {
    facility = str(e.firm), city = str(e.eventCity), state = str(e.eventState),
    postal = str(e.eventZIP), country = str(e.eventCountry),
  }
  return {
    occurred_at = at, zone = zone,
    status = status_for(code:upper(), warned),
    code = code,
    description = str(e.eventType) or code,
    location = next(loc) and loc or nil,
  }
end

local function finish(result, category)
  local events = result.events
  result.status = (events[1] and events[1].status) or CATEGORY[(category or ""):lower()] or nil
  if result.status == "delivered" and events[1] then result.delivered_at = events[1].occurred_at end
  return result
end

local function v3_result(doc)
  local warned, events = {}, {}
  local list = doc.trackingEvents
  if list ~= nil and list ~= json.null and type(list) ~= "table" then return failure.broken("'trackingEvents' is not a list") end
  for i, e in ipairs(list or {}) do
    local ev, err = v3_event(e, i, warned)
    if not ev then return failure.broken(err) end
    events[#events + 1] = ev
  end
  local result = { events = events }
  local eta = str(doc.expectedDeliveryTimeStamp) or str(doc.expectedDeliveryDate)
  if eta then
    if eta:match("^%d%d%d%d%-%d%d%-%d%d$") then result.estimated_delivery = time.parse(eta, "%Y-%m-%d", "UTC")
    else result.estimated_delivery = time.parse(eta, "iso", "UTC") end
  end
  result = finish(result, str(doc.statusCategory))
  if not result.status and #events == 0 then
    return failure.not_found(str(doc.statusSummary) or str(doc.status) or "no tracking events")
  end
  return result
end

-- {"apiVersion", "error": {"code", "message", "errors": [{status, code, title, detail}]}}
local function v3_error(err, http_status)
  local code = str(err.code)
  local message = str(err.message) or "USPS error"
  local first = tbl(tbl(err.errors) and err.errors[1]) or {}
  local detail = ((str(first.title) or "") .. " " .. (str(first.detail) or "") .. " " .. message):lower()
  local n = http_status or tonumber(code) or tonumber(str(first.status) or "")
  if n == 401 or n == 403 then return failure.auth(message, code) end
  if n == 429 then return failure.rate_limited(nil, message, code) end
  if n and n >= 500 then return failure.temporary(message, code) end
  if n == 404 or detail:find("not found") or detail:find("could not locate") then return failure.not_found(message, code) end
  if n == 400 and (detail:find("tracking") or detail:find("invalid")) then return failure.invalid_number(message, code) end
  if n then return failure.broken(message, code) end
  -- An error body on HTTP 200 with a code we cannot place: USPS refused the
  -- request and said why; keep its words and retry later.
  return failure.temporary(message, code)
end

local function parse_json(doc, status, codes)
  if type(doc) ~= "table" then return failure.broken("JSON is not an object") end
  if type(doc.error) == "table" then return v3_error(doc.error, status ~= 200 and status or nil) end
  -- OAuth error body: {"error": "invalid_client", "error_description": ...}
  if type(doc.error) == "string" then
    local code = str(doc.error)
    local message = str(doc.error_description) or code or "OAuth error"
    if status == 429 then return failure.rate_limited(nil, message, code) end
    if status >= 500 then return failure.temporary(message, code) end
    return failure.auth(message, code)
  end
  if doc.trackingEvents ~= nil or doc.trackingNumber ~= nil or doc.statusCategory ~= nil then
    local id = str(doc.trackingNumber) or (codes and codes[1])
    if not id then return failure.broken("tracking response without 'trackingNumber'") end
    local ok, r = pcall(v3_result, doc)
    local results = {}
    results[id] = ok and r or failure.broken("unreadable tracking response: " .. short(r, 80))
    return results
  end
  return nil
end

---------------------------------------------------------------------------
-- Web Tools (legacy XML)
---------------------------------------------------------------------------
local function xml_event(node, warned)
  local code = node:text("EventCode") or ""
  local date, clock = node:text("EventDate"), node:text("EventTime")
  local at = nil
  if date and date ~= "" then
    if clock and clock ~= "" then
      at = time.parse(date .. " " .. clock, "%B %d, %Y %I:%M %p", "UTC")
    else
      at = time.parse(date, "%B %d, %Y", "UTC")
    end
  end
  if not at then return nil end
  local function v(name) local t = node:text(name); if t and t ~= "" then return t end return nil end
  local loc = {
    facility = v("FirmName"), city = v("EventCity"), state = v("EventState"),
    postal = v("EventZIPCode"), country = v("EventCountry"),
  }
  return {
    occurred_at = at, zone = "UTC",
    status = status_for(code:upper(), warned),
    code = code,
    description = node:text("Event") or code,
    location = next(loc) and loc or nil,
  }
end

local NOT_FOUND_NUMBERS = {
  ["-2147219302"] = true,  -- could not locate the tracking information
  ["-2147219301"] = true,  -- delivery status information is not available
  ["-2147219283"] = true,  -- no record of that item
}

local function xml_error(err, per_item)
  local number = err:text("Number")
  local message = err:text("Description") or "USPS error"
  local lower = message:lower()
  if NOT_FOUND_NUMBERS[number or ""] or lower:find("could not locate") or lower:find("not available")
      or lower:find("no record") then
    return failure.not_found(message, number)
  end
  if lower:find("authoriz") or lower:find("userid") or lower:find("user id") then return failure.auth(message, number) end
  if lower:find("invalid") and lower:find("number") then return failure.invalid_number(message, number) end
  if per_item then return failure.temporary(message, number) end
  -- A whole-request error (invalid XML, test server): our request is at fault.
  return failure.broken(message, number)
end

local function xml_info(info)
  local err = info:child("Error")
  if err then return xml_error(err, true) end
  local warned, events, undated = {}, {}, 0
  local nodes = {}
  local summary = info:child("TrackSummary")
  if summary then nodes[#nodes + 1] = summary end
  for _, d in ipairs(info:children("TrackDetail")) do nodes[#nodes + 1] = d end
  for _, n in ipairs(nodes) do
    local ev = xml_event(n, warned)
    if ev then events[#events + 1] = ev else undated = undated + 1 end
  end
  if undated > 0 then log.warn("usps: events without a readable date were left out", { count = tostring(undated) }) end
  if #nodes == 0 then
    local summary_text = info:text("StatusSummary") or info:text("Status")
    if not summary_text then return failure.broken("TrackInfo without TrackSummary, TrackDetail or Error") end
  end
  local result = { events = events }
  local eta = info:text("ExpectedDeliveryDate") or info:text("PredictedDeliveryDate")
  if eta and eta ~= "" then result.estimated_delivery = time.parse(eta, "%B %d, %Y", "UTC") end
  result = finish(result, info:text("StatusCategory"))
  if not result.status then result.status = DEFAULT_STATUS end
  return result
end

local function parse_xml(doc)
  if doc.name == "Error" then return xml_error(doc, false) end
  if doc.name ~= "TrackResponse" then return failure.broken("XML root <" .. tostring(doc.name) .. ">, expected <TrackResponse>") end
  local results, n = {}, 0
  for _, info in ipairs(doc:children("TrackInfo")) do
    local id = str(info.attr and info.attr.ID)
    if id then
      local ok, r = pcall(xml_info, info)
      results[id] = ok and r or failure.broken("unreadable TrackInfo: " .. short(r, 80))
      n = n + 1
    end
  end
  if n == 0 then return failure.broken("TrackResponse without TrackInfo ID") end
  return results
end

---------------------------------------------------------------------------
-- parse
---------------------------------------------------------------------------
local function parse(response, codes, ctx)
  local status = tonumber(response.status) or 0
  local body = response.body or ""

  if body:match("^%s*[{%[]") then
    local doc, err = json.decode(body)
    if doc == nil then
      if status >= 500 then return failure.temporary(("HTTP %d"):format(status)) end
      return failure.broken("body is not valid JSON: " .. tostring(err))
    end
    local r = parse_json(doc, status, codes)
    if r then return r end
  elseif body:match("^%s*<%?xml") or body:match("^%s*<TrackResponse") or body:match("^%s*<Error") then
    local doc, err = xml.parse(body)
    if doc == nil then
      if status >= 500 then return failure.temporary(("HTTP %d"):format(status)) end
      return failure.broken("body is not valid XML: " .. tostring(err))
    end
    return parse_xml(doc)
  end

  local f = http.triage(response, { status_code = true, now = value.table(ctx) and ctx.now })
  if f then return f end
  if status == 404 then return failure.not_found("HTTP 404", "404") end
  if status >= 300 and status < 400 then return failure.broken(("HTTP %d redirect"):format(status)) end
  return failure.broken(("expected USPS tracking JSON or TrackResponse XML, got %s"):format(short(body, 60)))
end

local function parse_auth(response, config, ctx)
  local status = tonumber(response.status) or 0
  local body = response.body or ""
  local doc = body:match("^%s*{") and json.decode(body) or nil
  if type(doc) == "table" and str(doc.access_token) then
    local expires = tonumber(str(doc.expires_in) or "")
    return { token = str(doc.access_token), expires_in = expires or 3600 }
  end
  if type(doc) == "table" and type(doc.error) == "string" then
    local code = str(doc.error)
    local message = str(doc.error_description) or code
    if status == 429 then return failure.rate_limited(http.retry_after(response.headers, value.table(ctx) and ctx.now), message, code) end
    if status >= 500 then return failure.temporary(message, code) end
    return failure.auth(message, code)
  end
  local f = http.triage(response, { status_code = true, now = value.table(ctx) and ctx.now })
  if f then return f end
  return failure.broken("token response without 'access_token': " .. short(body, 60))
end

return {
  id = "usps",
  name = "USPS",
  api = 1,
  hosts = { "apis.usps.com" },
  tracking_url = "https://tools.usps.com/go/TrackConfirmAction?tLabels={code}",
  limits = { concurrency = 2, per_second = 5, batch = 1 },

  validate = validate,

  auth = function(config, ctx)
    return {
      method = "POST",
      url = http.base_url(config, DEFAULT_BASE_URL) .. "/oauth2/v3/token",
      headers = { ["Content-Type"] = "application/json", Accept = "application/json" },
      body = json.encode({
        grant_type = "client_credentials",
        client_id = str(config and config.client_id) or "",
        client_secret = str(config and config.client_secret) or "",
      }),
      timeout = 30,
    }
  end,

  parse_auth = failure.guard(parse_auth, "usps script"),

  request = function(codes, config, ctx)
    local code = (codes[1] or ""):gsub("[%s%-]+", ""):upper()
    return {
      method = "GET",
      url = http.base_url(config, DEFAULT_BASE_URL) .. "/tracking/v3/tracking/" .. url.escape(code) .. "?expand=DETAIL",
      headers = { Accept = "application/json", Authorization = "Bearer " .. tostring(ctx and ctx.token or "") },
      timeout = 30,
    }
  end,

  parse = failure.guard(parse, "usps script"),
}
