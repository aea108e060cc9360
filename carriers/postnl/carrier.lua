-- PostNL (Netherlands).
--
-- Shipping Status API: GET /shipment/v2/status/barcode/{barcode}?detail=true
-- with the `apikey` header (config.api_key). One barcode per request.
-- Answers are {"CurrentStatus": {"Shipment": {...}}} or, with detail=true,
-- {"CompleteStatus": {"Shipment": {...}}}; Shipment/Address/Event/OldStatus may
-- each be a single object instead of a list. An unknown barcode comes back as
-- HTTP 200 {"CurrentStatus": {}, "Warnings": [{"Code": "2", "Message": "No shipment found"}]}.
-- Every PostNL time ("07-03-2018 23:20:05[.326]") is Dutch wall time without an offset.

local ZONE = "Europe/Amsterdam"
local DEFAULT_BASE_URL = "https://api.postnl.nl"

---------------------------------------------------------------------------
-- Status table: Shipment.Status.StatusCode / OldStatus.StatusCode.
-- These drive the shipment's status and, matched by timestamp, each event's.
---------------------------------------------------------------------------
local STATUS = {
  ["1"] = "info_received",          -- Zending voorgemeld (pre-alerted: label data only)
  ["2"] = "in_transit",             -- Zending in ontvangst genomen (received by PostNL)
  ["3"] = "in_transit",             -- Zending afgehaald (collected at the sender)
  ["4"] = "exception",              -- Zending niet afgehaald (collection failed: the sender must act)
  ["5"] = "in_transit",             -- Zending gesorteerd
  ["6"] = "exception",              -- Zending niet gesorteerd (stuck in sorting)
  ["7"] = "out_for_delivery",       -- Zending in distributieproces (on the delivery round)
  ["8"] = "attempt_failed",         -- Zending niet afgeleverd
  ["9"] = "in_transit",             -- Zending overgedragen aan partner (international handover)
  ["10"] = "returned_to_sender",    -- Zending retour afzender
  ["11"] = "delivered",             -- Zending afgeleverd
  ["12"] = "available_for_pickup",  -- Zending beschikbaar op afhaallocatie
  ["13"] = "pending",               -- Voormelding geannuleerd (label cancelled before posting)
  ["14"] = "delivered",             -- Zending afgehaald op afhaallocatie (picked up by the recipient)
  ["15"] = "exception",             -- Zending niet afgehaald op afhaallocatie (pickup period lapsed)
  ["16"] = "in_transit",            -- Zending onderweg naar afhaallocatie
  ["17"] = "in_transit",            -- Zending in ontvangst genomen door partner
}
-- "99 Niet van toepassing" (not applicable) is an internal bookkeeping row: ignored.

-- Event codes (Event.Code) seen on their own, when no OldStatus row shares
-- the event's timestamp. PostNL does not publish this list; unknown codes
-- fall back to in_transit.
local EVENT_STATUS = {
  ["A01"] = "info_received",        -- Pakket is nog niet door PostNL ontvangen of verwerkt
  ["01A"] = "info_received",        -- Zending wordt verwacht, maar zit nog niet in sorteerproces
  ["B01"] = "in_transit",           -- Zending is ontvangen door PostNL
  ["01B"] = "in_transit",           -- Zending is bij PostNL (NB: some feeds reuse it with "bezorgd"; the status row wins)
  ["J01"] = "in_transit",           -- Zending is gesorteerd
  ["J05"] = "out_for_delivery",     -- Bezorger is onderweg
  ["I01"] = "delivered",            -- Zending is bezorgd
}

---------------------------------------------------------------------------
-- Helpers
---------------------------------------------------------------------------

local tbl = value.table       -- the value when it is a table (not json.null), else nil
-- PostNL writes empty fields as {}; numbers as strings, sometimes as numbers.
local str = text.clean        -- trimmed text; integral numbers as digits; nil when empty
local short = text.short      -- one line, cut at n bytes (default 120)

-- An object or a list of objects → a list.
local function list(v)
  v = tbl(v)
  if not v then return {} end
  if v[1] ~= nil then
    local out = {}
    for _, x in ipairs(v) do if tbl(x) then out[#out + 1] = x end end
    return out
  end
  if next(v) == nil then return {} end
  return { v }
end

local norm_code = text.code   -- upper case, no whitespace; nil when empty

-- "07-03-2018 23:20:05" or "07-03-2018 23:20:05.326" (Dutch time) → UTC ISO.
local function parse_time(s)
  s = str(s)
  if not s then return nil end
  local base = s:match("^(%d%d?%-%d%d?%-%d%d%d%d %d%d?:%d%d:%d%d)") or s:match("^(%d%d?%-%d%d?%-%d%d%d%d %d%d?:%d%d)")
  if base then
    return time.parse(base, #base > 16 and "%d-%m-%Y %H:%M:%S" or "%d-%m-%Y %H:%M", ZONE)
      or time.parse(base, "%d-%m-%Y %H:%M", ZONE)
  end
  if s:match("^%d%d%d%d%-%d%d%-%d%d") then return time.parse(s, "iso", ZONE) end
  return nil
end

-- The wall-clock key used to pair an event with its status row ("dd-mm-yyyy hh:mm:ss").
local function time_key(s)
  s = str(s)
  return s and s:match("^(%d+%-%d+%-%d+ %d+:%d+:%d+)")
end

---------------------------------------------------------------------------
-- Errors
---------------------------------------------------------------------------

-- The message of any PostNL error shape: {"Errors":[{"Description"|"Message"|"ErrorMsg"}]},
-- {"Warnings":[...]}, [{"ErrorMsg","ErrorNr"}], {"fault":{"faultstring"}} (API gateway),
-- {"message": "..."}.
local function error_info(doc)
  doc = tbl(doc)
  if not doc then return nil end
  local function from(e)
    e = tbl(e)
    if not e then return nil end
    local msg = str(e.Description) or str(e.Message) or str(e.ErrorMsg) or str(e.Error) or str(e.message)
    local code = str(e.Code) or str(e.ErrorNr) or str(e.code)
    if msg or code then return msg, code end
  end
  for _, key in ipairs({ "Errors", "errors", "Error", "Warnings" }) do
    local l = list(doc[key])
    if l[1] then
      local msg, code = from(l[1])
      if msg or code then return msg or ("PostNL error " .. code), code, key end
    end
  end
  local fault = tbl(doc.fault)
  if fault then
    local detail = tbl(fault.detail) or {}
    return str(fault.faultstring) or "API gateway fault", str(detail.errorcode), "fault"
  end
  if doc[1] ~= nil then
    local msg, code = from(doc[1])
    if msg or code then return msg or ("PostNL error " .. code), code, "list" end
  end
  local msg = str(doc.message) or str(doc.Message)
  if msg then return msg, str(doc.code) or str(doc.Code), "message" end
  return nil
end

local function body_error(body)
  local doc = json.decode(body or "")
  local msg, code = error_info(doc)
  return msg, code
end

---------------------------------------------------------------------------
-- Shipments
---------------------------------------------------------------------------

local function status_of(row)
  local code = str(row.StatusCode)
  if not code or code == "99" then return nil end
  return STATUS[code]
end

local function read_shipment(sh, warned)
  local code = norm_code(str(sh.Barcode) or str(sh.MainBarcode))
  local status_row = tbl(sh.Status)

  -- Status per wall-clock second, from the status history (newest row wins on ties).
  local by_time = {}
  for _, row in ipairs(list(sh.OldStatus)) do
    local k, st = time_key(row.TimeStamp), status_of(row)
    if k and st and by_time[k] == nil then by_time[k] = st end
  end
  if status_row then
    local k, st = time_key(status_row.TimeStamp), status_of(status_row)
    if k and st then by_time[k] = st end
  end

  local events = {}
  for _, e in ipairs(list(sh.Event)) do
    local at = parse_time(e.TimeStamp)
    if at then
      local ecode = str(e.Code) or ""
      local st = by_time[time_key(e.TimeStamp) or ""] or EVENT_STATUS[ecode]
      if not st then
        st = "in_transit"
        if not warned[ecode] then
          warned[ecode] = true
          log.warn("postnl: unknown event code", { code = ecode, description = str(e.Description) or "" })
        end
      end
      events[#events + 1] = {
        occurred_at = at,
        zone = ZONE,
        status = st,
        code = ecode,
        description = str(e.Description) or ecode,
      }
    end
  end

  local overall = status_row and status_of(status_row)
  -- CurrentStatus carries no events: the current status is the only one.
  if #events == 0 and status_row then
    local at = parse_time(status_row.TimeStamp)
    local scode = str(status_row.StatusCode)
    if at and scode then
      events[1] = {
        occurred_at = at,
        zone = ZONE,
        status = overall or "in_transit",
        code = scode,
        description = str(status_row.StatusDescription) or scode,
      }
    end
  end
  if #events == 0 and not overall then
    return code, failure.not_found("PostNL has no events for this shipment", nil)
  end

  local out = { events = events, status = overall }
  if out.status == "delivered" then
    out.delivered_at = status_row and parse_time(status_row.TimeStamp)
  else
    local exp = tbl(sh.Expectation)
    local eta = exp and (str(exp.ETATo) or str(exp.ETAFrom))
    if eta then out.estimated_delivery = time.parse(eta, "iso", ZONE) end
  end
  return code, out
end

local function parse_body(body, codes)
  if body:sub(1, 3) == "\239\187\191" then body = body:sub(4) end
  local first = body:match("^%s*(%S)")
  if not first then return failure.broken("empty body", nil) end
  if first == "<" then
    local title = body:match("<[Tt][Ii][Tt][Ll][Ee][^>]*>([^<]*)<")
    return failure.broken("expected JSON from PostNL, got markup" .. (title and (" (title: '" .. short(title, 80) .. "')") or ""), nil)
  end
  local doc, err = json.decode(body)
  if doc == nil then return failure.broken("body is not valid JSON: " .. short(err), nil) end
  if type(doc) ~= "table" then return failure.broken("JSON body is not an object", nil) end

  local requested = {}
  local asked = {}
  for _, c in ipairs(tbl(codes) or {}) do
    local n = norm_code(c)
    if n then requested[n] = c; asked[#asked + 1] = c end
  end

  local wrapper = tbl(doc.CompleteStatus) or tbl(doc.CurrentStatus)
  local shipments = wrapper and list(wrapper.Shipment) or {}
  if #shipments == 0 then
    local msg, ecode, kind = error_info(doc)
    if msg then
      local lower = msg:lower()
      local f
      if kind == "fault" or lower:find("apikey", 1, true) or lower:find("api key", 1, true) then
        f = failure.auth(msg, ecode)
      elseif lower:find("no shipment", 1, true) or lower:find("not found", 1, true) or ecode == "2" then
        f = failure.not_found(msg, ecode)
      elseif lower:find("barcode", 1, true) and (lower:find("invalid", 1, true) or lower:find("ongeldig", 1, true)) then
        f = failure.invalid_number(msg, ecode)
      else
        return failure.broken("PostNL error: " .. msg, ecode)
      end
      if #asked == 1 then return { [asked[1]] = f } end
      return f
    end
    if wrapper then
      local f = failure.not_found("PostNL returned no shipment", nil)
      if #asked == 1 then return { [asked[1]] = f } end
      return f
    end
    return failure.broken("JSON without 'CurrentStatus' or 'CompleteStatus'", nil)
  end

  local results, count = {}, 0
  local warned = {}
  for _, sh in ipairs(shipments) do
    local code, outcome = read_shipment(sh, warned)
    if not code and #shipments == 1 and #asked == 1 then code = norm_code(asked[1]) end
    if code then
      local key = requested[code] or code
      if results[key] == nil then results[key] = outcome; count = count + 1 end
    end
  end
  if count == 0 then return failure.broken("no shipment in the response has a barcode", nil) end
  -- A multi-collo request answered with the main barcode only still answers the lone code asked.
  if #asked == 1 and results[asked[1]] == nil and count == 1 then
    local _, only = next(results)
    results = { [asked[1]] = only }
  end
  return results
end

local function parse(response, codes, ctx)
  if type(response) ~= "table" then return failure.broken("no response", nil) end
  local f = http.triage(response, { message = body_error, refused = "PostNL refused the API key", wait = 60, now = tbl(ctx) and ctx.now })
  if f then return f end
  local status = math.tointeger(tonumber(response.status)) or 0
  local body = type(response.body) == "string" and response.body or ""
  local out = parse_body(body, codes)
  if status >= 200 and status < 300 then return out end
  if out.failure == nil then return out end
  local msg, code = body_error(body)
  if status == 404 then
    local f = failure.not_found(msg or "HTTP 404: shipment not found", code)
    local asked = tbl(codes) or {}
    if #asked == 1 then return { [asked[1]] = f } end
    return f
  end
  if status == 400 and msg and msg:lower():find("barcode", 1, true) then
    local f = failure.invalid_number(msg, code)
    local asked = tbl(codes) or {}
    if #asked == 1 then return { [asked[1]] = f } end
    return f
  end
  return failure.broken("HTTP " .. status .. (msg and (": " .. msg) or ""), code)
end

---------------------------------------------------------------------------
-- Contract functions
---------------------------------------------------------------------------

local function validate(code)
  if type(code) ~= "string" then return false, "tracking number must be text" end
  local s = code:gsub("%s+", ""):upper()
  -- International (UPU S10): LA123456785NL, RR...NL, CP...NL — with its check digit.
  if s:match("^%u%u%d%d%d%d%d%d%d%d%d%u%u$") then
    return check.verdict(check.s10(s:sub(3, 10)), s:byte(11) - 48, "S10 check digit")
  end
  -- Domestic barcode: 2-character type (3S, KG, ...), 4-letter customer code, 6 to 11 digit serial.
  -- PostNL domestic barcodes carry no check digit.
  if #s < 12 or #s > 17 then
    return false, ("expected a 12-17 character PostNL barcode (e.g. 3SABCD123456789) or a 13-character S10 number, got %d characters"):format(#s)
  end
  if not s:match("^%w%w") then return false, "must start with a 2-character barcode type such as 3S" end
  if not s:match("^%w%w%u%u%u%u") then return false, "characters 3 to 6 must be the 4-letter customer code, got '" .. s:sub(3, 6) .. "'" end
  if not s:match("^%w%w%u%u%u%u%d+$") then return false, "after the customer code only digits may follow, got '" .. s:sub(7) .. "'" end
  return true
end

local function request(codes, config, ctx)
  config = tbl(config) or {}
  local key = str(config.api_key)
  if not key then error("postnl: config.api_key is required (PostNL developer portal API key)", 0) end
  local code = norm_code((tbl(codes) or {})[1]) or ""
  return {
    method = "GET",
    url = http.base_url(config, DEFAULT_BASE_URL) .. "/shipment/v2/status/barcode/" .. url.escape(code) .. "?"
      .. url.query({ detail = "true", language = str(config.language) or "NL" }),
    headers = { ["Accept"] = "application/json", ["apikey"] = key },
    timeout = 30,
  }
end

return {
  id = "postnl",
  name = "PostNL",
  api = 1,
  hosts = { "api.postnl.nl" },
  tracking_url = "https://jouw.postnl.nl/track-and-trace/{code}",
  poll = { every = "4h", window = "30d" },
  limits = { concurrency = 4, per_second = 5, batch = 1 },
  validate = check.guard(validate),
  request = request,
  parse = failure.guard(parse, "postnl script"),
}
