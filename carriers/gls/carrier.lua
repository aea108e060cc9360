-- GLS (GLS Group Track And Trace API v1).
--
-- Token: POST {auth}/oauth2/v1/token, client credentials with HTTP Basic
-- (config.client_id : config.client_secret). Tracking:
-- GET {base}/track-and-trace-v1/tracking/simple/trackids/{id,id,...}?showEvents=true
-- (up to 10 numbers per call). Events come newest first with an offset in
-- each eventDateTime ("2024-10-07T10:46:14+0200"); that offset is the zone.

---------------------------------------------------------------------------
-- Parcel status (parcels[].status) -> normalized status.
---------------------------------------------------------------------------
local PARCEL_STATUS = {
  ["PLANNEDPICKUP"] = "info_received",  -- a pickup is booked; GLS does not hold the parcel yet
  ["INPICKUP"] = "info_received",       -- driver on the way to collect it
  ["PREADVICE"] = "info_received",      -- only the data was sent to GLS
  ["INTRANSIT"] = "in_transit",
  ["INWAREHOUSE"] = "in_transit",       -- sorted / held at a depot between legs
  ["INDELIVERY"] = "out_for_delivery",
  ["DELIVERED"] = "delivered",
  -- DELIVEREDPS: "delivered" to a ParcelShop, i.e. waiting for the consignee there.
  ["DELIVEREDPS"] = "available_for_pickup",
  ["NOTDELIVERED"] = "attempt_failed",
  ["CANCELED"] = "exception",           -- parcel cancelled by the shipper
  ["CANCELLED"] = "exception",
  -- FINAL: GLS closes the parcel without saying how (returned, collected...);
  -- the events decide the status.
  ["FINAL"] = false,
}

---------------------------------------------------------------------------
-- Event codes ("GROUP.DETAIL"): exact code first, then the group.
-- GLS spells the first group "INTIAL" (sic) in its own data.
---------------------------------------------------------------------------
local EVENT_STATUS = {
  ["INTIAL.PREADVICE"] = "info_received",  -- data entered in the GLS IT system
  ["INITIAL.PREADVICE"] = "info_received",
  ["INTIAL.NORMAL"] = "in_transit",        -- handed over to GLS: physical acceptance
  ["INITIAL.NORMAL"] = "in_transit",
  ["INTIAL"] = "in_transit",
  ["INITIAL"] = "in_transit",
  ["INBOUND"] = "in_transit",
  ["OUTBOUND"] = "in_transit",
  ["INWAREHOUSE"] = "in_transit",
  ["TRANSIT"] = "in_transit",
  ["INTRANSIT"] = "in_transit",
  ["INDELIVERY"] = "out_for_delivery",
  ["DELIVERY"] = "out_for_delivery",
  ["DELIVERED"] = "delivered",
  ["DELIVEREDPS"] = "available_for_pickup", -- in a ParcelShop, waiting for the consignee
  ["NOTDELIVERED"] = "attempt_failed",
  ["RETURN"] = "exception",                 -- return leg starts; not final
  ["RETURNED"] = "returned_to_sender",
  ["CANCELED"] = "exception",
}
-- Unknown events: scans of a parcel GLS holds.
local DEFAULT_STATUS = "in_transit"

local DEFAULT_BASE_URL = "https://api.gls-group.net"
local BATCH = 10

local str = text.clean        -- trimmed text; integral numbers as digits; nil when empty
local norm_code = text.code   -- upper case, no whitespace; nil when empty
local short = text.short      -- one line, cut at n bytes (default 120)

-- "2024-10-07T10:46:14+0200" / "...+02:00" / "...Z" -> UTC ISO and offset minutes.
local function read_time(s)
  s = str(s)
  if not s then return nil end
  local base, sign, h, m = s:match("^(%d%d%d%d%-%d%d%-%d%dT%d%d:%d%d:?%d*%.?%d*)([%+%-])(%d%d):?(%d%d)$")
  if base then
    local off = tonumber(h) * 60 + tonumber(m)
    if sign == "-" then off = -off end
    local at = time.parse(base, "iso", string.format("%s%s:%s", sign, h, m))
    if at then return at, off end
    return nil
  end
  if s:match("[Zz]$") then
    local at = time.parse(s, "iso", "UTC")
    if at then return at, 0 end
    return nil
  end
  local at = time.parse(s, "iso", "UTC")     -- no offset: shown as printed
  if at then return at, 0 end
  return nil
end

local function event_status(code, warned)
  local c = code:upper()
  local s = EVENT_STATUS[c]
  if s then return s end
  local group = c:match("^([^%.]+)")
  s = group and EVENT_STATUS[group]
  if s then return s end
  if not warned[c] then
    warned[c] = true
    log.warn("gls: unknown event code, treated as " .. DEFAULT_STATUS, { code = code })
  end
  return DEFAULT_STATUS
end

local function read_event(e, i, warned)
  if type(e) ~= "table" then return nil, ("events[%d] is not an object"):format(i) end
  local code = str(e.code)
  local desc = str(e.description)
  if not code and not desc then return nil, ("events[%d] has neither code nor description"):format(i) end
  local at, off = read_time(e.eventDateTime)
  if not at then
    local raw = str(e.eventDateTime)
    return nil, ("events[%d]: cannot read eventDateTime %s"):format(i, raw and ("'" .. short(raw, 40) .. "'") or "(missing)")
  end
  local loc = { city = str(e.city), postal = str(e.postalCode), country = str(e.country) }
  if next(loc) == nil then loc = nil end
  return {
    occurred_at = at, zone = time.zone(off),
    status = code and event_status(code, warned) or DEFAULT_STATUS,
    code = code or "", description = desc or code,
    location = loc,
  }
end

local function error_failure(code, message)
  local msg = message or code or "GLS error"
  if code and code:match("^E_404") then return failure.not_found(msg, code) end
  if code and code:match("^E_400") then return failure.invalid_number(msg, code) end
  if code and (code:match("^E_401") or code:match("^E_403")) then return failure.auth(msg, code) end
  if code and code:match("^E_429") then return failure.rate_limited(nil, msg, code) end
  if code and code:match("^E_5") then return failure.temporary(msg, code) end
  return failure.broken("GLS error " .. (code or "?") .. ": " .. short(msg, 200), code)
end

local function read_parcel(p, warned)
  local number = norm_code(p.requested) or norm_code(p.unitno)
  local ecode, emsg = str(p.errorCode), str(p.errorMessage)
  local list = p.events
  if ecode or (emsg and list == nil) then return number, error_failure(ecode, emsg) end
  if list == nil or list == json.null then list = {} end
  if type(list) ~= "table" then return number, failure.broken("'events' is not a list", nil) end
  local events = {}
  for i, e in ipairs(list) do
    local ev, why = read_event(e, i, warned)
    if not ev then return number, failure.broken(why, nil) end
    events[#events + 1] = ev
  end
  local result = { events = events }
  local st = str(p.status)
  local mapped = st and PARCEL_STATUS[st:upper()]
  if mapped == nil and st then
    log.warn("gls: unknown parcel status, using the events", { status = st })
  end
  result.status = mapped or (events[1] and events[1].status) or "pending"
  if result.status == "delivered" then
    for _, ev in ipairs(events) do
      if ev.status == "delivered" then result.delivered_at = ev.occurred_at; break end
    end
  end
  return number, result
end

-- The message of a GLS gateway error body, or nil.
local function error_text(doc)
  if type(doc) ~= "table" then return nil end
  local errs = doc.errors
  if type(errs) == "table" and type(errs[1]) == "table" then
    return str(errs[1].message) or str(errs[1].errorMessage) or str(errs[1].code)
  end
  return str(doc.errorMessage) or str(doc.message) or str(doc.error_description) or str(doc.error)
end

-- A JSON object or list body, or nil.
local function body_doc(body)
  local doc = body:match("^%s*[{%[]") and json.decode(body) or nil
  if type(doc) ~= "table" then return nil end
  return doc
end

local function error_message(body) return error_text(body_doc(body)) end

local function parse(response, codes, ctx)
  if type(response) ~= "table" then return failure.broken("no response", nil) end
  local f = http.triage(response, { message = error_message, refused = "GLS refused the token", expect = "JSON from GLS", now = value.table(ctx) and ctx.now })
  if f then return f end
  local status = math.tointeger(tonumber(response.status)) or 0
  local body = type(response.body) == "string" and response.body or ""
  local doc = body_doc(body)
  if not doc then
    if body:match("^%s*$") then return failure.broken("empty body (HTTP " .. status .. ")", nil) end
    return failure.broken("body is not a JSON object (HTTP " .. status .. "): '" .. short(body, 40) .. "'", nil)
  end
  local parcels = doc.parcels
  if parcels == nil then
    if doc.unitno ~= nil or doc.requested ~= nil then parcels = { doc } end
  end
  if type(parcels) ~= "table" then
    local m = error_text(doc)
    if status == 404 then return failure.not_found(m or "HTTP 404", nil) end
    if m then return failure.broken("GLS error (HTTP " .. status .. "): " .. short(m, 200), nil) end
    return failure.broken("JSON without 'parcels'", nil)
  end
  local requested = text.codes(codes)
  local results, count, skipped, warned = {}, 0, 0, {}
  for _, p in ipairs(parcels) do
    if type(p) == "table" then
      local number, outcome = read_parcel(p, warned)
      if not number and #parcels == 1 and type(codes) == "table" and #codes == 1 then number = norm_code(codes[1]) end
      if number then
        local key = requested[number] or number
        if results[key] == nil then results[key] = outcome; count = count + 1 end
      else
        skipped = skipped + 1
      end
    else
      skipped = skipped + 1
    end
  end
  if count == 0 then
    if skipped > 0 then return failure.broken("no parcel in the response has a tracking number", nil) end
    return failure.broken("'parcels' is empty", nil)
  end
  return results
end

-- GLS numbers: 11- or 12-digit parcel numbers, or an 8-character TrackID.
local function validate(code)
  if type(code) ~= "string" then return false, "tracking number must be text" end
  local s = code:gsub("%s+", ""):upper()
  if s:match("^%d+$") then
    if #s == 11 or #s == 12 then return true end
    return false, ("a GLS parcel number has 11 or 12 digits, got %d"):format(#s)
  end
  if #s == 8 and s:match("^[%u%d]+$") then return true end
  return false, "expected an 11/12-digit GLS parcel number or an 8-character TrackID"
end

local function auth(config, ctx)
  local id, secret = str(config and config.client_id), str(config and config.client_secret)
  local headers = { Accept = "application/json", ["Content-Type"] = "application/x-www-form-urlencoded" }
  if id and secret then headers.Authorization = "Basic " .. base64.encode(id .. ":" .. secret) end
  return {
    method = "POST",
    url = str(config and config.token_url) or (http.base_url(config, DEFAULT_BASE_URL) .. "/oauth2/v1/token"),
    headers = headers,
    body = "grant_type=client_credentials",
    timeout = 30,
  }
end

local function parse_auth(response, config, ctx)
  if type(response) ~= "table" then return failure.broken("no token response", nil) end
  local f = http.triage(response, { message = error_message, refused = "the GLS token endpoint refused the credentials",
                                   token = true, now = value.table(ctx) and ctx.now })
  if f then return f end
  local status = math.tointeger(tonumber(response.status)) or 0
  local body = type(response.body) == "string" and response.body or ""
  local doc = body:match("^%s*{") and json.decode(body) or nil
  if type(doc) ~= "table" then doc = nil end
  local token = doc and str(doc.access_token)
  if not token then return failure.broken("GLS token response without access_token (HTTP " .. status .. ")", nil) end
  return { token = token, expires_in = tonumber(doc.expires_in) or 3600 }
end

local function request(codes, config, ctx)
  local ids = {}
  for i, c in ipairs(codes) do ids[i] = url.escape(norm_code(c) or "") end
  return {
    method = "GET",
    url = http.base_url(config, DEFAULT_BASE_URL) .. "/track-and-trace-v1/tracking/simple/trackids/" .. table.concat(ids, ",") .. "?showEvents=true",
    headers = { Accept = "application/json", Authorization = "Bearer " .. tostring(ctx and ctx.token or ""),
                ["Accept-Language"] = str(config and config.language) or "EN" },
    timeout = 30,
  }
end

return {
  id = "gls", name = "GLS", api = 1,
  hosts = { "api.gls-group.net" },
  tracking_url = "https://gls-group.com/GROUP/en/parcel-tracking?match={code}",
  limits = { concurrency = 2, per_second = 5, batch = BATCH },
  validate = validate,
  auth = auth, parse_auth = parse_auth,
  request = request,
  parse = parse,
}
