-- Spring GDS (Spring Global Delivery Solutions, XBS API).
--
-- One endpoint for every command: POST https://mtapi.net/ (the test system is
-- https://mtapi.net/?testMode=1) with a JSON body
--   {"Apikey": "...", "Command": "TrackShipment", "Shipment": {"TrackingNumber": "..."}}
-- One number per call. The answer is {ErrorLevel, Error, Shipment{..., Events[]}}:
-- ErrorLevel 0 = ok, 1 = completed with warnings, 10 = fatal (not found, bad key...).
-- Events come oldest first; we return them newest first. Each event has a UNIX
-- Timestamp (the instant) and a printed DateTime; the difference between the two
-- is the zone the carrier printed it in (UTC when they agree).

local DEFAULT_BASE = "https://mtapi.net"

---------------------------------------------------------------------------
-- Status table: Spring XBS tracking event codes.
---------------------------------------------------------------------------
local STATUS = {
  ["0"] = "info_received",          -- PARCEL CREATED: label/data only
  ["12"] = "info_received",         -- PREPARATION PROCESS: still at the shipper
  ["15"] = "in_transit",            -- COLLECTION TRANSPORT
  ["18"] = "in_transit",            -- COLLECTION
  ["19"] = "in_transit",            -- PROCESSING DEPOT
  ["20"] = "in_transit",            -- ACCEPTED: physical acceptance scan
  ["21"] = "in_transit",            -- INTERNATIONAL TRANSPORT
  ["22"] = "in_transit",            -- CROSSDOCK
  -- END OF TRACKING UPDATES: untracked/bag-trace services stop reporting here;
  -- the parcel is still on its way, nothing says it arrived.
  ["25"] = "in_transit",
  ["31"] = "exception",             -- DELIVERY EXCEPTION - ACTION REQUIRED
  ["40"] = "in_transit",            -- IN CUSTOMS: routine clearance step
  ["41"] = "exception",             -- CUSTOMS EXCEPTION: held
  ["91"] = "attempt_failed",        -- DELIVERY ATTEMPTED
  ["92"] = "available_for_pickup",  -- DELIVERY AWAITING COLLECTION
  ["93"] = "in_transit",            -- AT LOCAL DEPOT (last-mile carrier)
  ["100"] = "delivered",            -- DELIVERED
  -- DELIVERED TO DESTINATION COUNTRY: handed to the destination post, not to
  -- the addressee; polling continues for the last-mile scans.
  ["101"] = "in_transit",
  ["111"] = "exception",            -- LOST OR DESTROYED
  ["124"] = "exception",            -- RETURN IN TRANSIT: the return leg, not final yet
  ["125"] = "returned_to_sender",   -- RETURN RECEIVED
  ["12406"] = "returned_to_sender", -- RETURN DELIVERED BY CARRIER
  ["12501"] = "returned_to_sender", -- RETURN RECEIVED - REFUSED
  ["12502"] = "returned_to_sender", -- RETURN RECEIVED - UNDELIVERABLE
  ["12503"] = "returned_to_sender", -- RETURN RECEIVED - DAMAGED
  ["12504"] = "returned_to_sender", -- RETURN RECEIVED - NOT COLLECTED
  ["12505"] = "returned_to_sender", -- RETURN RECEIVED - ACCORDING TO AGREEMENT
  ["12506"] = "returned_to_sender", -- RETURN RECEIVED - DESTROYED
  ["1001"] = "exception",           -- ITEM INCOMPLETE DATA
  ["2101"] = "in_transit",          -- IN TRANSIT - EXPORTED
  ["2102"] = "in_transit",          -- ITEM RELEASED FROM CUSTOMS
  ["2103"] = "in_transit",          -- IN TRANSIT - IMPORTED
  ["4106"] = "exception",           -- CONSIGNMENT CANCELLED
  ["9101"] = "in_transit",          -- AT TRANSFER DEPOT (last-mile carrier)
  ["9102"] = "in_transit",          -- IN TRANSIT
  ["9301"] = "out_for_delivery",    -- OUT FOR DELIVERY
  ["9302"] = "in_transit",          -- DELIVERY EXCEPTION - DELAYED: late, still moving
  ["9999"] = "in_transit",          -- INFORMATION
}
-- Unknown codes: an event is a scan of a moving parcel.
local DEFAULT_STATUS = "in_transit"

---------------------------------------------------------------------------
-- Helpers
---------------------------------------------------------------------------
local str = text.clean        -- trimmed text; integral numbers as digits; nil when empty
local tbl = value.table       -- the value when it is a table, else nil
local short = text.short      -- one line, cut at n bytes (default 120)

local norm_code = text.code   -- upper case, no whitespace; nil when empty

local function offset_text(secs)
  if secs == 0 then return "UTC" end
  local sign = secs < 0 and "-" or "+"
  secs = math.abs(secs)
  return ("%s%02d:%02d"):format(sign, secs // 3600, secs % 3600 // 60)
end

-- (occurred_at, zone) of a Spring event.
local function read_time(ev)
  local printed = str(ev.DateTime)
  local wall = printed and (time.parse(printed, "%Y-%m-%d %H:%M:%S", "UTC") or time.parse(printed, "iso", "UTC"))
  local ts = math.tointeger(tonumber(ev.Timestamp))
  local at = ts and ts > 0 and time.iso(ts)
  if at then
    local zone = "UTC"
    if wall then
      local diff = time.epoch(wall) - ts
      -- A printed time within ±14h of the instant, in whole quarter hours: that is its zone.
      if diff % 900 == 0 and math.abs(diff) <= 14 * 3600 then zone = offset_text(diff) end
    end
    return at, zone
  end
  if wall then return wall, "UTC" end
  return nil
end

local function location(ev)
  local loc = {
    city = str(ev.City),
    state = str(ev.State),
    postal = str(ev.Zip),
    country = str(ev.Country),
  }
  if next(loc) == nil then return nil end
  return loc
end

local function error_message(body)
  local doc = json.decode(body or "")
  if type(doc) ~= "table" then return nil end
  return str(doc.Error) or str(doc.Message) or str(doc.message)
end

---------------------------------------------------------------------------
-- Reading
---------------------------------------------------------------------------
local function read_shipment(sh)
  local events, idx = {}, {}
  for i, ev in ipairs(tbl(sh.Events) or {}) do
    if type(ev) == "table" then
      local code = str(ev.Code) or ""
      local at, zone = read_time(ev)
      if at then
        local status = STATUS[code]
        if not status then
          log.warn("spring: unknown event code", { code = code })
          status = DEFAULT_STATUS
        end
        local e = {
          occurred_at = at,
          zone = zone,
          status = status,
          code = code,
          description = str(ev.Description) or code,
          location = location(ev),
        }
        events[#events + 1] = e
        idx[e] = i
      else
        log.warn("spring: event without a readable time", { code = code })
      end
    end
  end
  -- Newest first; Spring lists oldest first, so equal times keep reverse order.
  table.sort(events, function(a, b)
    if a.occurred_at ~= b.occurred_at then return a.occurred_at > b.occurred_at end
    return idx[a] > idx[b]
  end)
  local result = { events = events, status = events[1] and events[1].status or "pending" }
  if result.status == "delivered" then result.delivered_at = events[1].occurred_at end
  return result
end

local function level_failure(level, msg)
  local code = level and tostring(level) or nil
  local low = (msg or ""):lower()
  if low:find("not found", 1, true) or low:find("unknown tracking", 1, true) or low:find("no shipment", 1, true) then
    return failure.not_found(msg, code)
  end
  if low:find("apikey", 1, true) or low:find("api key", 1, true) or low:find("unauthori", 1, true)
     or low:find("authenticat", 1, true) then
    return failure.auth(msg, code)
  end
  if low:find("invalid tracking", 1, true) or low:find("tracking number is invalid", 1, true) then
    return failure.invalid_number(msg, code)
  end
  return failure.broken("Spring ErrorLevel " .. tostring(code) .. ": " .. short(msg ~= "" and msg or "no message"), code)
end

local function parse_doc(doc, codes)
  if type(doc) ~= "table" or doc[1] ~= nil then return failure.broken("JSON body is not an object", nil) end
  if doc.ErrorLevel == nil and doc.Shipment == nil then
    local keys = {}
    for k in pairs(doc) do keys[#keys + 1] = tostring(k) end
    table.sort(keys)
    return failure.broken("JSON without 'ErrorLevel' or 'Shipment' (keys: " .. short(table.concat(keys, ", "), 80) .. ")", nil)
  end
  local level = math.tointeger(tonumber(doc.ErrorLevel))
  local msg = str(doc.Error) or ""
  local sh = tbl(doc.Shipment)
  if level ~= nil and level ~= 0 and level ~= 1 or not sh then
    if level == 0 or level == 1 then return failure.broken("Spring answered ErrorLevel " .. level .. " without a Shipment", nil) end
    if level == nil then return failure.broken("Spring answer without a readable ErrorLevel", nil) end
    return level_failure(level, msg)
  end
  if level == 1 and msg ~= "" then log.warn("spring: TrackShipment completed with warnings", { error = msg }) end
  local id = norm_code(str(sh.TrackingNumber)) or norm_code(str(sh.DisplayId))
  local key
  local list = tbl(codes) or {}
  for _, c in ipairs(list) do
    local n = norm_code(c)
    if n and (n == id or n == norm_code(str(sh.DisplayId)) or n == norm_code(str(sh.CarrierTrackingNumber))) then key = c end
  end
  if not key and #list == 1 then key = list[1] end
  key = key or id
  if not key then return failure.broken("Shipment without a TrackingNumber", nil) end
  return { [key] = read_shipment(sh) }
end

local function parse(response, codes, ctx)
  if type(response) ~= "table" then return failure.broken("no response", nil) end
  local status = math.tointeger(tonumber(response.status)) or 0
  local body = type(response.body) == "string" and response.body or ""
  if body:sub(1, 3) == "\239\187\191" then body = body:sub(4) end
  local f = http.triage(response, { message = error_message, refused = "Spring refused the Apikey", now = tbl(ctx) and ctx.now })
  if f then return f end
  local first = body:match("^%s*(%S)")
  if not first then return failure.broken("empty body (HTTP " .. status .. ")", nil) end
  if first ~= "{" and first ~= "[" then
    local title = str(body:match("<[Tt][Ii][Tt][Ll][Ee][^>]*>([^<]*)<"))
    if first == "<" then return failure.broken("expected JSON from Spring, got markup" .. (title and (" (title: '" .. short(title, 80) .. "')") or ""), nil) end
    return failure.broken("expected JSON from Spring, body starts with '" .. short(body:match("^%s*(.*)"), 40) .. "'", nil)
  end
  local doc, err = json.decode(body)
  if doc == nil then return failure.broken("body is not valid JSON: " .. short(tostring(err)), nil) end
  local out = parse_doc(doc, codes)
  if status >= 200 and status < 300 then return out end
  if out.failure == nil then return out end
  return failure.broken("HTTP " .. status .. ": " .. short(out.message or ""), nil)
end

---------------------------------------------------------------------------
-- Contract
---------------------------------------------------------------------------

-- Spring numbers are UPU S10 for its postal products (LS123456785NL...), with
-- the S10 check digit, or Spring/partner references of 10 to 35 letters and
-- digits (no public check digit).
local function validate(code)
  if type(code) ~= "string" then return false, "tracking number must be text" end
  local s = code:gsub("%s+", ""):upper()
  if s:match("^%u%u%d%d%d%d%d%d%d%d%d%u%u$") then
    return check.verdict(check.s10(s:sub(3, 10)), s:byte(11) - 48, "S10 check digit")
  end
  if not s:match("^%w+$") then return false, "only letters and digits are allowed" end
  if #s < 10 or #s > 35 then return false, ("expected 10 to 35 characters, got %d"):format(#s) end
  if not s:match("%d%d%d") then return false, "must contain digits" end
  return true
end

local function request(codes, config, ctx)
  config = tbl(config) or {}
  local key = str(config.api_key)
  if not key then error("spring: config.api_key (the XBS Apikey) is required", 0) end
  local code = norm_code((tbl(codes) or {})[1]) or ""
  local u = http.base_url(config, DEFAULT_BASE) .. "/"
  if str(config.test_mode) == "1" or str(config.test_mode) == "true" then u = u .. "?testMode=1" end
  return {
    method = "POST",
    url = u,
    headers = { ["Content-Type"] = "text/json", ["Accept"] = "application/json" },
    body = json.encode({ Apikey = key, Command = "TrackShipment", Shipment = { TrackingNumber = code } }),
    timeout = 30,
  }
end

return {
  id = "spring",
  name = "Spring GDS",
  api = 1,
  hosts = { "mtapi.net" },
  tracking_url = "https://www.mailingtechnology.com/tracking/?tn={code}",
  limits = { concurrency = 4, per_second = 5, batch = 1 },
  validate = check.guard(validate),
  request = request,
  parse = failure.guard(parse, "spring script"),
}
