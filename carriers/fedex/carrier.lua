-- FedEx.
--
-- Talks to the current REST Track API (OAuth client credentials from
-- /oauth/token, then POST /track/v1/trackingnumbers, up to 30 numbers a call)
-- and also reads the legacy SOAP Web Services TrackReply XML (v7...v19), bare
-- or inside a SOAP envelope, that older integrations recorded.
-- FedEx times carry their UTC offset ("2024-04-26T09:26:00-07:00"); the event
-- zone is that offset, so the local time shown is the one FedEx printed. A time
-- without an offset is read (and shown) as UTC.

local DEFAULT_BASE = "https://apis.fedex.com"
local MAX_BATCH = 30   -- the Track API accepts at most 30 trackingInfo entries

---------------------------------------------------------------------------
-- Status table: FedEx event type (REST scanEvents[].eventType, SOAP
-- Events/EventType, and latestStatusDetail.code / StatusDetail/Code).
---------------------------------------------------------------------------
local STATUS = {
  OC = "info_received",        -- Shipment information sent to FedEx: a label, nothing scanned yet
  IN = "info_received",        -- Initiated (REST derivedCode for OC)
  PU = "in_transit",           -- Picked up: first physical scan
  PX = "in_transit",           -- Picked up (see details)
  PM = "in_transit",           -- In progress
  IP = "in_transit",           -- In FedEx possession
  AA = "in_transit",           -- At airport
  AC = "in_transit",           -- At Canada Post facility
  AD = "in_transit",           -- At delivery
  AF = "in_transit",           -- At FedEx facility / tendered at FedEx facility
  AO = "in_transit",           -- Shipment arriving on time (informational)
  AE = "in_transit",           -- Shipment arriving early (informational)
  AP = "in_transit",           -- At pickup
  AR = "in_transit",           -- Arrived at / at local FedEx facility
  AX = "in_transit",           -- At USPS facility
  CH = "in_transit",           -- Location changed
  CC = "in_transit",           -- Cleared customs
  CP = "in_transit",           -- Clearance in progress
  DP = "in_transit",           -- Departed FedEx location
  DR = "in_transit",           -- Vehicle furnished but not used
  DS = "in_transit",           -- Vehicle dispatched
  EA = "in_transit",           -- Enroute to airport
  ED = "in_transit",           -- Enroute to delivery
  EO = "in_transit",           -- Enroute to origin airport
  EP = "in_transit",           -- Enroute to pickup
  FD = "in_transit",           -- At FedEx destination facility
  HA = "in_transit",           -- Hold at location requested (the parcel is still moving there)
  IT = "in_transit",           -- In transit / on the way
  IX = "in_transit",           -- In transit (see details)
  LO = "in_transit",           -- Left origin
  OF = "in_transit",           -- At FedEx origin facility
  OX = "in_transit",           -- Shipment information sent to USPS (SmartPost hand-off)
  PF = "in_transit",           -- Plane in flight
  PL = "in_transit",           -- Plane landed
  RR = "in_transit",           -- Delivery option requested by the recipient (reroute etc.)
  RM = "in_transit",           -- Delivery option request modified
  RC = "in_transit",           -- Delivery option request cancelled
  RG = "in_transit",           -- Delivery option requested (see details)
  SF = "in_transit",           -- At sort facility
  SP = "in_transit",           -- Split status: several pieces at different steps
  TR = "in_transit",           -- Transfer
  -- Late but moving: FedEx's own "delay" scans do not stop the parcel.
  DY = "in_transit",           -- Delay
  DD = "in_transit",           -- Delivery delay
  PD = "in_transit",           -- Pickup delay
  RL = "in_transit",           -- Running late (REST derivedCode)
  OD = "out_for_delivery",     -- On FedEx vehicle for delivery
  HL = "available_for_pickup", -- At FedEx location, held for the recipient to collect
  HP = "available_for_pickup", -- Ready for recipient pickup
  DL = "delivered",            -- Delivered
  -- DE "Delivery exception": FedEx went to the door or tried to (customer not
  -- available, business closed, redirected to a nearby location): a failed attempt.
  DE = "attempt_failed",
  SE = "exception",            -- Shipment exception (unable to deliver, damaged, held...)
  CD = "exception",            -- Clearance delay: customs holds it until someone acts
  CA = "exception",            -- Shipment cancelled
  LP = "exception",            -- Lost package: FedEx's investigation code
  -- RS "Return to shipper": FedEx's final "delivered back to the shipper" scan.
  RS = "returned_to_sender",
  RP = "in_transit",           -- Return label link e-mailed / return pickup: a new leg starts
}
local DEFAULT_STATUS = "in_transit"   -- unknown scans are scans of a parcel FedEx holds

---------------------------------------------------------------------------
-- Small helpers
---------------------------------------------------------------------------

local str = text.clean        -- trimmed text; integral numbers as digits; nil when empty
local tbl = value.table       -- the value when it is a table, else nil
local norm_code = text.code   -- upper case, no whitespace; nil when empty
local short = text.short      -- one line, cut at n bytes

local function status_of(code)
  if not code then return nil end
  return STATUS[code]
end

-- "2024-04-26T09:26:00-07:00" → utc, zone "-07:00"; no offset → UTC.
local function read_time(text)
  text = str(text)
  if not text then return nil, nil end
  local offset = text:match("T[%d:%.]+([+-]%d%d:%d%d)$")
  if not offset and text:match("T[%d:%.]+Z$") then offset = "UTC" end
  if not offset and text:match("T[%d:%.]+[+-]%d%d%d%d$") then
    local o = text:match("([+-]%d%d%d%d)$")
    offset = o:sub(1, 3) .. ":" .. o:sub(4, 5)
  end
  local zone = offset or "UTC"
  local utc = time.parse(text, "iso", zone)
  if not utc then return nil, nil end
  return utc, zone
end

local function humanize(s)
  s = str(s)
  if not s then return nil end
  s = s:gsub("_", " "):lower()
  return (s:gsub("^%l", string.upper))
end

local function location(city, state, postal, country, kind)
  local loc = { city = str(city), state = str(state), postal = str(postal), country = str(country) }
  if not (loc.city or loc.state or loc.postal or loc.country) then
    -- No address on the scan: say what kind of place it was ("Customer", "Vehicle").
    loc.facility = humanize(kind)
  end
  if next(loc) == nil then return nil end
  return loc
end

-- Who signed. With no signature collected FedEx fills the name field with
-- "Signature not required": not a person.
local function signatory(name)
  name = str(name)
  if name and name:lower():match("^signature not ") then return nil end
  return name
end

-- Shared result assembly: events newest first (FedEx lists them that way).
local function finish(events, latest_code, extra)
  local out = { events = events }
  -- The newest scan wins over the summary code: recorded replies carry a
  -- summary (StatusDetail) older than their scans.
  local status = events[1] and events[1].status or status_of(latest_code)
  if status then out.status = status end
  for k, v in pairs(extra or {}) do out[k] = v end
  if out.status ~= "delivered" then out.delivered_at = nil; out.signed_by = nil end
  return out
end

local function newest(events)
  local best
  for _, e in ipairs(events) do
    if e.occurred_at and (not best or e.occurred_at > best) then best = e.occurred_at end
  end
  return best
end

---------------------------------------------------------------------------
-- REST Track API v1 (JSON)
---------------------------------------------------------------------------

local function rest_address(a, kind)
  a = tbl(a) or {}
  return location(a.city, a.stateOrProvinceCode, a.postalCode, a.countryCode, kind)
end

local function rest_events(tr, warned)
  local events = {}
  for _, se in ipairs(tbl(tr.scanEvents) or {}) do
    se = tbl(se)
    if se then
      local utc, zone = read_time(se.date)
      local code = str(se.eventType) or str(se.derivedStatusCode) or ""
      local status = STATUS[code]
      if not status then
        status = DEFAULT_STATUS
        if code ~= "" and not warned[code] then
          warned[code] = true
          log.warn("fedex: unknown event type", { code = code, description = str(se.eventDescription) or "" })
        end
      end
      -- The exception text is the specific one ("Customer not available or
      -- business closed"); the event description is generic ("Delivery exception").
      local description = str(se.exceptionDescription) or str(se.eventDescription) or ""
      if utc then
        events[#events + 1] = {
          occurred_at = utc,
          zone = zone,
          status = status,
          code = code,
          subcode = str(se.exceptionCode),
          description = description,
          location = rest_address(se.scanLocation, se.locationType),
        }
      end
    end
  end
  return events
end

local function rest_date(tr, wanted)
  for _, d in ipairs(tbl(tr.dateAndTimes) or {}) do
    d = tbl(d)
    if d and d.type == wanted then
      local utc = read_time(d.dateTime)
      if utc then return utc end
    end
  end
  return nil
end

local function rest_success(tr, warned)
  local events = rest_events(tr, warned)
  local latest = tbl(tr.latestStatusDetail) or {}
  local code = str(latest.code)
  if not STATUS[code or ""] then code = str(latest.derivedCode) end
  local extra = {}
  local eta = rest_date(tr, "ESTIMATED_DELIVERY")
  if not eta then
    local w = tbl(tbl(tr.estimatedDeliveryTimeWindow) or {}) or {}
    w = tbl(w.window) or {}
    eta = read_time(w.begins) or read_time(w.ends)
  end
  extra.estimated_delivery = eta
  extra.delivered_at = rest_date(tr, "ACTUAL_DELIVERY")
  local dd = tbl(tr.deliveryDetails) or {}
  extra.signed_by = signatory(dd.receivedByName) or signatory(dd.signedByName)
  local out = finish(events, code, extra)
  if out.status == "delivered" and not out.delivered_at and events[1] and events[1].status == "delivered" then
    out.delivered_at = events[1].occurred_at
  end
  return out
end

local function rest_error_failure(err, fallback)
  err = tbl(err) or {}
  local code = str(err.code)
  local message = str(err.message) or fallback or code or "FedEx reported an error"
  local up = (code or ""):upper()
  if up:find("NOTFOUND", 1, true) or up:find("NOT.FOUND", 1, true) then return failure.not_found(message, code) end
  if up:find("INVALID", 1, true) then return failure.invalid_number(message, code) end
  if up:find("UNAVAILABLE", 1, true) or up:find("SYSTEM", 1, true) then return failure.temporary(message, code) end
  return failure.not_found(message, code)
end

-- Several shipments can share a number (FedEx reuses Express numbers): keep
-- the one with the most recent scan, as fedex.com does.
local function pick_latest(candidates)
  local best, best_time
  for _, c in ipairs(candidates) do
    local t = newest(c.events) or ""
    if not best or t > best_time then best, best_time = c, t end
  end
  return best
end

local function whole_rest_error(errors)
  local first = tbl(errors[1]) or {}
  local code = str(first.code)
  local message = str(first.message) or code or "FedEx returned errors"
  local up = (code or ""):upper()
  if up:find("AUTHORIZ", 1, true) or up:find("UNAUTHORIZED", 1, true) or up:find("TOKEN", 1, true)
     or up:find("LOGIN", 1, true) or up:find("FORBIDDEN", 1, true) then
    return failure.auth(message, code)
  end
  if up:find("RATE", 1, true) or up:find("TOO.MANY", 1, true) or up:find("QUOTA", 1, true) then
    return failure.rate_limited(nil, message, code)
  end
  if up:find("UNAVAILABLE", 1, true) or up:find("INTERNAL", 1, true) or up:find("SYSTEM", 1, true) then
    return failure.temporary(message, code)
  end
  -- Anything else (TRACKING.TRACKINGNUMBER.EMPTY, INVALID.INPUT.EXCEPTION...)
  -- means our request no longer matches the API.
  return failure.broken(message, code)
end

local function from_rest(doc, codes)
  if type(doc) ~= "table" then return failure.broken("JSON body is not an object", nil) end
  local output = tbl(doc.output)
  if not output then
    local errors = tbl(doc.errors)
    if errors and errors[1] then return whole_rest_error(errors) end
    if doc.access_token ~= nil then return failure.broken("got an OAuth token response, not a tracking reply", nil) end
    return failure.broken("JSON without 'output' or 'errors'", nil)
  end
  local list = tbl(output.completeTrackResults)
  if not list then
    if output.documents ~= nil then
      return failure.broken("got a proof-of-delivery document, not a tracking reply", nil)
    end
    local errors = tbl(doc.errors)
    if errors and errors[1] then return whole_rest_error(errors) end
    return failure.broken("'output' without 'completeTrackResults'", nil)
  end
  local requested = text.codes(codes)
  local results, count = {}, 0
  local warned = {}
  for _, ctr in ipairs(list) do
    ctr = tbl(ctr)
    if ctr then
      local number = norm_code(str(ctr.trackingNumber))
      local successes, first_error = {}, nil
      for _, tr in ipairs(tbl(ctr.trackResults) or {}) do
        tr = tbl(tr)
        if tr then
          number = number or norm_code(str(tbl(tr.trackingNumberInfo) and tr.trackingNumberInfo.trackingNumber))
          local latest = tbl(tr.latestStatusDetail)
          local has_data = (tbl(tr.scanEvents) and #tr.scanEvents > 0) or (latest and str(latest.code))
          if has_data then
            successes[#successes + 1] = rest_success(tr, warned)
          elseif tbl(tr.error) then
            first_error = first_error or tr.error
          else
            successes[#successes + 1] = rest_success(tr, warned)
          end
        end
      end
      if not number and #list == 1 and #(tbl(codes) or {}) == 1 then number = norm_code(codes[1]) end
      if number then
        local key = requested[number] or number
        if results[key] == nil then
          if #successes > 0 then
            results[key] = pick_latest(successes)
          elseif first_error then
            results[key] = rest_error_failure(first_error)
          else
            results[key] = failure.not_found("FedEx returned no result for this number", nil)
          end
          count = count + 1
        end
      end
    end
  end
  if count == 0 then return failure.broken("'completeTrackResults' holds no tracking number", nil) end
  return results
end

---------------------------------------------------------------------------
-- SOAP Web Services TrackReply (XML)
---------------------------------------------------------------------------

local function soap_events(td, warned)
  local events = {}
  for _, ev in ipairs(td:children("Events")) do
    local utc, zone = read_time(ev:text("Timestamp"))
    local code = ev:text("EventType") or ""
    local status = STATUS[code]
    if not status then
      status = DEFAULT_STATUS
      if code ~= "" and not warned[code] then
        warned[code] = true
        log.warn("fedex: unknown event type", { code = code, description = ev:text("EventDescription") or "" })
      end
    end
    if utc then
      local a = ev:child("Address")
      local loc
      if a then
        loc = location(a:text("City"), a:text("StateOrProvinceCode"), a:text("PostalCode"), a:text("CountryCode"),
                       ev:text("ArrivalLocation"))
      else
        loc = location(nil, nil, nil, nil, ev:text("ArrivalLocation"))
      end
      events[#events + 1] = {
        occurred_at = utc,
        zone = zone,
        status = status,
        code = code,
        subcode = ev:text("StatusExceptionCode"),
        description = ev:text("EventDescription") or "",
        location = loc,
      }
    end
  end
  return events
end

local function soap_date(td, wanted)
  for _, d in ipairs(td:children("DatesOrTimes")) do
    if d:text("Type") == wanted then
      local utc = read_time(d:text("DateOrTimestamp"))
      if utc then return utc end
    end
  end
  return nil
end

local ERROR_SEVERITY = { ERROR = true, FAILURE = true }

local function soap_notification_failure(n)
  local code = n:text("Code")
  local message = n:text("Message") or n:text("LocalizedMessage") or ("FedEx notification " .. (code or "?"))
  if code == "6035" then return failure.invalid_number(message, code) end      -- Invalid tracking numbers
  if code == "9045" or code == "9046" or code == "9047" then                       -- unable to process: retry later
    return failure.temporary(message, code)
  end
  if code == "1000" then return failure.auth(message, code) end                  -- Authentication Failed
  return failure.not_found(message, code)                                         -- 9040 cannot be found, ...
end

local function soap_detail(td, warned)
  local n = td:child("Notification")
  local sev = n and n:text("Severity")
  local events = soap_events(td, warned)
  local sd = td:child("StatusDetail")
  local code = sd and sd:text("Code")
  if sev and ERROR_SEVERITY[sev] and #events == 0 and not code then
    return nil, soap_notification_failure(n)
  end
  local extra = {}
  extra.estimated_delivery = soap_date(td, "ESTIMATED_DELIVERY") or read_time(td:text("EstimatedDeliveryTimestamp"))
  extra.delivered_at = soap_date(td, "ACTUAL_DELIVERY") or read_time(td:text("ActualDeliveryTimestamp"))
  extra.signed_by = signatory(td:text("DeliverySignatureName"))
  local out = finish(events, code, extra)
  if out.status == "delivered" and not out.delivered_at and events[1] and events[1].status == "delivered" then
    out.delivered_at = events[1].occurred_at
  end
  return out, nil
end

local function top_notification_failure(reply)
  for _, n in ipairs(reply:children("Notifications")) do
    if ERROR_SEVERITY[n:text("Severity") or ""] then
      local code = n:text("Code")
      local message = n:text("Message") or ("FedEx notification " .. (code or "?"))
      if code == "1000" or (n:text("Source") == "prof") then return failure.auth(message, code) end
      if code == "9045" then return failure.temporary(message, code) end
      return failure.broken(message, code)
    end
  end
  return nil
end

local function from_soap(root, codes)
  local reply = root
  if root.name ~= "TrackReply" then
    reply = root:find("Body/TrackReply")
    if not reply then
      local fault = root:find("Body/Fault")
      if fault then
        local msg = fault:text("faultstring") or fault:text("faultcode") or "?"
        return failure.broken("SOAP fault: " .. short(msg, 160), nil)
      end
      return failure.broken("XML <" .. tostring(root.name) .. "> is not a FedEx TrackReply", nil)
    end
  end
  local requested = text.codes(codes)
  local groups, order = {}, {}
  local warned = {}
  for _, ctd in ipairs(reply:children("CompletedTrackDetails")) do
    for _, td in ipairs(ctd:children("TrackDetails")) do
      local number = norm_code(td:text("TrackingNumber"))
      if not number and #(tbl(codes) or {}) == 1 then number = norm_code(codes[1]) end
      if number then
        local g = groups[number]
        if not g then
          g = { successes = {}, ids = {} }
          groups[number] = g
          order[#order + 1] = number
        end
        local ok, fail = soap_detail(td, warned)
        if ok then g.successes[#g.successes + 1] = ok else g.fail = g.fail or fail end
        g.ids[#g.ids + 1] = td:text("TrackingNumberUniqueIdentifier")
      end
    end
  end
  if #order == 0 then
    local f = top_notification_failure(reply)
    if f then return f end
    return failure.broken("TrackReply without TrackDetails", nil)
  end
  local results = {}
  for _, number in ipairs(order) do
    local g = groups[number]
    local key = requested[number] or number
    if #g.successes > 1 then
      -- Several shipments share this number. With scans, the newest one wins;
      -- without any, there is no telling which shipment is meant.
      local any = false
      for _, s in ipairs(g.successes) do if #s.events > 0 then any = true end end
      if any then
        results[key] = pick_latest(g.successes)
      else
        results[key] = failure.not_found("Multiple matches were found. Specify a unique identifier: "
          .. table.concat(g.ids, ", "), nil)
      end
    elseif #g.successes == 1 then
      results[key] = g.successes[1]
    else
      results[key] = g.fail or failure.not_found("FedEx returned no result for this number", nil)
    end
  end
  return results
end

---------------------------------------------------------------------------
-- Dispatch
---------------------------------------------------------------------------

local function error_message(body)
  if type(body) ~= "string" then return nil end
  local doc = json.decode(body)
  if type(doc) ~= "table" then return nil end
  local errors = tbl(doc.errors)
  local first = errors and tbl(errors[1])
  if first then return str(first.message) or str(first.code) end
  return str(doc.error_description) or str(doc.message) or (type(doc.error) == "string" and str(doc.error)) or nil
end

local function parse_body(body, codes)
  if body:sub(1, 3) == "\239\187\191" then body = body:sub(4) end
  local first = body:match("^%s*(%S)")
  if not first then return failure.broken("empty body", nil) end
  if first == "{" or first == "[" then
    local doc, err = json.decode(body)
    if doc == nil then return failure.broken("body is not valid JSON: " .. short(tostring(err), 160), nil) end
    return from_rest(doc, codes)
  end
  if first == "<" then
    local root, err = xml.parse(body)
    if not root then return failure.broken("body is not well-formed XML: " .. short(tostring(err), 160), nil) end
    return from_soap(root, codes)
  end
  return failure.broken("expected JSON or XML from FedEx, body starts with '" .. short(body:match("^%s*(.*)"), 40) .. "'", nil)
end

local function parse(response, codes, ctx)
  if type(response) ~= "table" then return failure.broken("no response", nil) end
  local f = http.triage(response, { message = error_message, refused = "FedEx refused the token",
                                   expect = "JSON or XML from FedEx", now = tbl(ctx) and ctx.now })
  if f then return f end
  local status = math.tointeger(tonumber(response.status)) or 0
  local body = type(response.body) == "string" and response.body or ""
  local out = parse_body(body, codes)
  if status >= 200 and status < 300 then return out end
  -- 400/404 with a known body (FedEx answers unknown numbers with 200, but
  -- errors[] bodies with 400): keep the typed outcome.
  if out.failure == nil or out.failure ~= "broken" then return out end
  local msg = error_message(body)
  return failure.broken("HTTP " .. status .. (msg and (": " .. msg) or ""), nil)
end

---------------------------------------------------------------------------
-- Contract functions
---------------------------------------------------------------------------

-- FedEx Express (12 digits): weights 1,3,7 from the right over the first 11
-- digits, sum mod 11 mod 10.
local function express_check(s)
  local w = { 1, 3, 7 }
  local sum = 0
  for i = 1, 11 do sum = sum + (s:byte(12 - i) - 48) * w[(i - 1) % 3 + 1] end
  return sum % 11 % 10
end

local function validate(code)
  if type(code) ~= "string" then return false, "tracking number must be text" end
  local s = code:gsub("[%s%-]+", ""):upper()
  if s:match("^DT%d%d%d%d%d%d%d%d%d%d%d%d$") then return true end   -- door tag
  if not s:match("^%d+$") then return false, "FedEx tracking numbers are digits only (or DT + 12 digits for a door tag)" end
  local n = #s
  if n == 12 then
    local want, got = express_check(s), s:byte(12) - 48
    if want == got then return true, "check_digit" end
    -- Some FedEx Ground numbers are 12 digits with the GS1 mod 10 rule.
    if check.gs1(s:sub(1, -2)) == got then return true, "check_digit" end
    return check.verdict(want, got)
  end
  if n == 15 then
    return check.verdict(check.gs1(s:sub(1, -2)), s:byte(15) - 48)
  end
  if n == 20 or n == 22 then
    return check.verdict(check.gs1(s:sub(1, -2)), s:byte(n) - 48)
  end
  if n == 10 or n == 14 or n == 34 then return true end  -- older Ground/Freight formats, 34-digit 96 barcodes
  return false, ("expected 12, 15, 20, 22 or 34 digits, got %d"):format(n)
end

local function auth(config)
  config = tbl(config) or {}
  local id, secret = str(config.client_id), str(config.client_secret)
  if not id or not secret then
    error("fedex: config.client_id and config.client_secret are required (FedEx Developer Portal API key and secret key)", 0)
  end
  return {
    method = "POST",
    url = http.base_url(config, DEFAULT_BASE) .. "/oauth/token",
    headers = { ["Content-Type"] = "application/x-www-form-urlencoded", ["Accept"] = "application/json" },
    body = url.query({ grant_type = "client_credentials", client_id = id, client_secret = secret }),
    timeout = 30,
  }
end

local function parse_auth(response, config, ctx)
  if type(response) ~= "table" then return failure.broken("no response", nil) end
  local f = http.triage(response, { message = error_message, refused = "FedEx refused the credentials", token = true,
                                   now = tbl(ctx) and ctx.now })
  if f then return f end
  local status = math.tointeger(tonumber(response.status)) or 0
  local body = type(response.body) == "string" and response.body or ""
  if status ~= 200 then
    return failure.broken("token request: HTTP " .. status, nil)
  end
  local doc = json.decode(body)
  if type(doc) ~= "table" then return failure.broken("token response is not a JSON object", nil) end
  local token = str(doc.access_token)
  if not token then
    local errors = tbl(doc.errors)
    if errors and errors[1] then return whole_rest_error(errors) end
    return failure.broken("token response has no 'access_token'", nil)
  end
  local out = { token = token }
  local expires = tonumber(doc.expires_in)
  if expires and expires > 0 then out.expires_in = math.floor(expires) end
  return out
end

local function request(codes, config, ctx)
  local info = {}
  for _, c in ipairs(tbl(codes) or {}) do
    local n = norm_code(c)
    if n and #info < MAX_BATCH then info[#info + 1] = { trackingNumberInfo = { trackingNumber = n } } end
  end
  local headers = {
    ["Content-Type"] = "application/json",
    ["Accept"] = "application/json",
    ["X-locale"] = "en_US",
  }
  local token = str(tbl(ctx) and ctx.token)
  if token then headers["Authorization"] = "Bearer " .. token end
  return {
    method = "POST",
    url = http.base_url(config, DEFAULT_BASE) .. "/track/v1/trackingnumbers",
    headers = headers,
    body = json.encode({ includeDetailedScans = true, trackingInfo = info }),
    timeout = 30,
  }
end

return {
  id = "fedex",
  name = "FedEx",
  api = 1,
  hosts = { "apis.fedex.com" },
  tracking_url = "https://www.fedex.com/fedextrack/?trknbr={code}",
  limits = { concurrency = 4, per_second = 5, batch = MAX_BATCH },
  validate = check.guard(validate),
  auth = auth,
  parse_auth = failure.guard(parse_auth, "fedex script"),
  request = request,
  parse = failure.guard(parse, "fedex script"),
}
