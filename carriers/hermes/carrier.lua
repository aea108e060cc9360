-- Hermes Germany (HSI API, shipment info).
--
-- Token: OAuth2 password grant at
--   https://authme.myhermes.de/authorization-facade/oauth2/access_token
--   (config.client_id, config.client_secret, config.username, config.password).
-- Tracking: GET {base}/shipmentinfo?shipmentID=..&shipmentID=.. with the
-- Bearer token; base defaults to https://de-api.hermesworld.com/services/hsi.
-- Events ("status") come oldest first with an offset in each timestamp;
-- Hermes Germany works in German time, so events carry Europe/Berlin.

local ZONE = "Europe/Berlin"

---------------------------------------------------------------------------
-- Status table: Hermes 4-digit status code -> normalized status.
-- Exact codes first; otherwise the thousands group (first digit).
---------------------------------------------------------------------------
local STATUS = {
  ["0000"] = "info_received",      -- shipment notified to Hermes electronically (data only)
  ["1000"] = "in_transit",         -- handed over to Hermes (first physical scan)
  ["2000"] = "in_transit",         -- arrived at a Hermes distribution / logistics centre
  ["3000"] = "out_for_delivery",   -- out on a delivery route, delivery expected today
  ["3500"] = "delivered",          -- delivered
  -- 36xx/37xx: delivered to a ParcelShop / locker instead of the door; the
  -- recipient has to collect it.
  ["3600"] = "available_for_pickup",
  ["3700"] = "available_for_pickup",
}
local GROUP = {
  ["0"] = "info_received",         -- 0xxx: data / announcement stages
  ["1"] = "in_transit",            -- 1xxx: collection and acceptance
  ["2"] = "in_transit",            -- 2xxx: line haul and sorting
  ["3"] = "out_for_delivery",      -- 3xxx other than the above: last-mile steps
  -- 4xxx: could not be delivered (attempts, refusals); the detail text says
  -- whether a retry or a return follows.
  ["4"] = "attempt_failed",
  -- 5xxx and up: returns and clarification cases.
  ["5"] = "exception",
  ["6"] = "exception",
  ["7"] = "exception",
  ["8"] = "exception",
  ["9"] = "exception",
}
local DEFAULT_STATUS = "in_transit"

local DEFAULT_BASE_URL = "https://de-api.hermesworld.com/services/hsi"
local DEFAULT_TOKEN_URL = "https://authme.myhermes.de/authorization-facade/oauth2/access_token"
local BATCH = 10

local str = text.clean        -- trimmed text; integral numbers as digits; nil when empty
local norm_code = text.code   -- upper case, no whitespace; nil when empty
local short = text.short      -- one line, cut at n bytes (default 120)


local function status_for(code, warned)
  local s = STATUS[code] or GROUP[code:sub(1, 1)]
  if s then return s end
  if not warned[code] then
    warned[code] = true
    log.warn("hermes: unknown status code, treated as " .. DEFAULT_STATUS, { code = code })
  end
  return DEFAULT_STATUS
end

local function read_event(e, i, warned)
  if type(e) ~= "table" then return nil, ("status[%d] is not an object"):format(i) end
  local code = str(e.code)
  if not code then return nil, ("status[%d] has no code"):format(i) end
  local raw = str(e.timestamp)
  local at = raw and time.parse(raw, "iso", ZONE)
  if not at then
    return nil, ("status[%d] (%s): cannot read timestamp %s"):format(i, code, raw and ("'" .. short(raw, 40) .. "'") or "(missing)")
  end
  local u = type(e.scanningUnit) == "table" and e.scanningUnit or {}
  local loc = { facility = str(u.name), city = str(u.city), postal = str(u.zipCode), country = str(u.countryCode) }
  if next(loc) == nil then loc = nil end
  return {
    occurred_at = at, zone = ZONE, status = status_for(code, warned),
    code = code, description = str(e.description) or code, location = loc,
  }
end

local function result_failure(r)
  local code, msg = str(r.code), str(r.message)
  msg = msg or code or "Hermes returned no information"
  -- e001: "There is no information for the entered value."
  if code == "e001" or code == nil then return failure.not_found(msg, code) end
  if code and code:lower():match("^e00[23]$") then return failure.invalid_number(msg, code) end
  return failure.broken("Hermes result " .. code .. ": " .. short(msg, 200), code)
end

local function read_shipment(s, warned)
  local number = norm_code(s.shipmentID)
  local list = s.status
  local r = type(s.result) == "table" and s.result or nil
  if (list == nil or list == json.null or (type(list) == "table" and #list == 0)) and r and (r.code ~= nil or r.message ~= nil) then
    return number, result_failure(r)
  end
  if list == nil or list == json.null then list = {} end
  if type(list) ~= "table" then return number, failure.broken("'status' is not a list", nil) end
  if #list == 0 then return number, failure.not_found("Hermes has no events for this shipment", nil) end
  local events = {}
  for i, e in ipairs(list) do
    local ev, why = read_event(e, i, warned)
    if not ev then return number, failure.broken(why, nil) end
    events[i] = { i = i, ev = ev }
  end
  table.sort(events, function(a, b)
    if a.ev.occurred_at ~= b.ev.occurred_at then return a.ev.occurred_at > b.ev.occurred_at end
    return a.i > b.i
  end)
  local out = {}
  for i, x in ipairs(events) do out[i] = x.ev end
  local result = { events = out, status = out[1].status }
  if result.status == "delivered" then result.delivered_at = out[1].occurred_at end
  -- The forecast is kept after delivery too: it is what the customer was promised.
  do
    local f = type(s.deliveryForecast) == "table" and s.deliveryForecast or nil
    local d = f and str(f.date)
    if d and d:match("^%d%d%d%d%-%d%d%-%d%d$") then
      local slot = type(f.timeSlot) == "table" and str(f.timeSlot.to)
      result.estimated_delivery = (slot and time.parse(d .. " " .. slot, "%Y-%m-%d %H:%M", ZONE)) or time.parse(d, "iso", ZONE)
    end
  end
  return number, result
end

local function error_text(doc)
  if type(doc) ~= "table" then return nil end
  local list = doc.listOfResultCodes or doc.errors
  if type(list) == "table" and type(list[1]) == "table" then
    return str(list[1].message) or str(list[1].description) or str(list[1].code)
  end
  return str(doc.error_description) or str(doc.message) or str(doc.error)
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
  local f = http.triage(response, { message = error_message, refused = "Hermes refused the token", expect = "JSON from Hermes", now = value.table(ctx) and ctx.now })
  if f then return f end
  local status = math.tointeger(tonumber(response.status)) or 0
  local body = type(response.body) == "string" and response.body or ""
  local doc = body_doc(body)
  if not doc then
    if body:match("^%s*$") then return failure.broken("empty body (HTTP " .. status .. ")", nil) end
    return failure.broken("body is not a JSON object (HTTP " .. status .. "): '" .. short(body, 40) .. "'", nil)
  end
  local list = doc.shipmentinfo
  if list == nil and doc.shipmentID ~= nil then list = { doc } end
  if type(list) ~= "table" then
    local m = error_text(doc)
    if m then return failure.broken("Hermes error (HTTP " .. status .. "): " .. short(m, 200), nil) end
    return failure.broken("JSON without 'shipmentinfo'", nil)
  end
  local requested = text.codes(codes)
  local results, count, skipped, warned = {}, 0, 0, {}
  for _, s in ipairs(list) do
    if type(s) == "table" then
      local number, outcome = read_shipment(s, warned)
      if not number and #list == 1 and type(codes) == "table" and #codes == 1 then number = norm_code(codes[1]) end
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
    if skipped > 0 then return failure.broken("no shipment in the response has a shipmentID", nil) end
    if #(type(codes) == "table" and codes or {}) == 1 then
      return { [codes[1]] = failure.not_found("Hermes returned no shipment information", nil) }
    end
    return failure.broken("'shipmentinfo' is empty", nil)
  end
  return results
end

-- Hermes Germany shipment IDs: 14 digits, or "H" followed by 19 digits.
local function validate(code)
  if type(code) ~= "string" then return false, "tracking number must be text" end
  local s = code:gsub("%s+", ""):upper()
  if s:match("^%d+$") then
    if #s == 14 then return true end
    return false, ("a numeric Hermes shipment ID has 14 digits, got %d"):format(#s)
  end
  if s:match("^H%d+$") then
    if #s == 20 then return true end
    return false, ("a Hermes 'H' shipment ID has 20 characters (H + 19 digits), got %d"):format(#s)
  end
  return false, "expected a 14-digit Hermes shipment ID or H followed by 19 digits"
end

local function auth(config, ctx)
  local form = {
    grant_type = "password",
    client_id = str(config and config.client_id) or "",
    client_secret = str(config and config.client_secret) or "",
    username = str(config and config.username) or "",
    password = str(config and config.password) or "",
  }
  local token_url = str(config and config.token_url)
  if not token_url and str(config and config.base_url) then
    token_url = http.base_url(config, DEFAULT_BASE_URL) .. "/oauth2/access_token"   -- a staging / loopback server
  end
  return {
    method = "POST",
    url = token_url or DEFAULT_TOKEN_URL,
    headers = { Accept = "application/json", ["Content-Type"] = "application/x-www-form-urlencoded" },
    body = url.query(form),
    timeout = 30,
  }
end

local function parse_auth(response, config, ctx)
  if type(response) ~= "table" then return failure.broken("no token response", nil) end
  local f = http.triage(response, { message = error_message, refused = "the Hermes token endpoint refused the credentials",
                                   token = true, now = value.table(ctx) and ctx.now })
  if f then return f end
  local status = math.tointeger(tonumber(response.status)) or 0
  local body = type(response.body) == "string" and response.body or ""
  local doc = body:match("^%s*{") and json.decode(body) or nil
  if type(doc) ~= "table" then doc = nil end
  local token = doc and str(doc.access_token)
  if not token then return failure.broken("Hermes token response without access_token (HTTP " .. status .. ")", nil) end
  return { token = token, expires_in = tonumber(doc.expires_in) or 3600 }
end

local function request(codes, config, ctx)
  local ids = {}
  for i, c in ipairs(codes) do ids[i] = norm_code(c) or "" end
  return {
    method = "GET",
    url = http.base_url(config, DEFAULT_BASE_URL) .. "/shipmentinfo?" .. url.query({ shipmentID = ids }),
    headers = { Accept = "application/json", Authorization = "Bearer " .. tostring(ctx and ctx.token or ""),
                ["Accept-Language"] = str(config and config.language) or "EN" },
    timeout = 30,
  }
end

return {
  id = "hermes", name = "Hermes Germany", api = 1,
  hosts = { "de-api.hermesworld.com", "authme.myhermes.de" },
  tracking_url = "https://www.myhermes.de/empfangen/sendungsverfolgung/sendungsinformation#{code}",
  limits = { concurrency = 2, per_second = 5, batch = BATCH },
  validate = validate,
  auth = auth, parse_auth = parse_auth,
  request = request,
  parse = parse,
}
