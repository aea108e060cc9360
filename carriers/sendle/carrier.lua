-- Sendle (AU / US / CA).
--
-- Tracking API: GET {base}/api/tracking/{ref} with HTTP Basic auth
-- (config.sendle_id : config.api_key). One reference per request.
-- Events come oldest first; we return them newest first.
-- Each event has scan_time (UTC) and, when Sendle knows where it happened,
-- local_scan_time (wall time there, no offset) and display_time (with offset).

---------------------------------------------------------------------------
-- Status table: Sendle event_type / parcel state -> normalized status.
---------------------------------------------------------------------------
local STATUS = {
  ["Booking"] = "info_received",
  ["Pickup"] = "in_transit",             -- parcel collected by the courier
  ["Drop Off"] = "in_transit",           -- parcel dropped at a Sendle location
  ["Dropped Off"] = "in_transit",
  ["Transit"] = "in_transit",            -- the parcel-level state name
  ["In Transit"] = "in_transit",
  ["Info"] = "in_transit",               -- informational note on a moving parcel
  ["Local Delivery"] = "in_transit",     -- handed to the last-mile partner
  ["Out for Delivery"] = "out_for_delivery",
  ["Delivery Attempted"] = "attempt_failed",
  ["Card Left"] = "attempt_failed",      -- attempt made, card left for the receiver
  ["Left with Agent"] = "available_for_pickup", -- receiver collects it from an agent
  ["Awaiting Collection"] = "available_for_pickup",
  ["Delivered"] = "delivered",
  -- Pickup Attempted: the courier could not collect from the SENDER ("Parcel
  -- not ready"); the parcel never entered the network and a new pickup follows.
  ["Pickup Attempted"] = "info_received",
  ["Damaged"] = "exception",
  ["Unable to Deliver"] = "exception",
  ["Delivery Failed"] = "exception",
  ["Lost"] = "exception",
  ["Cancelled"] = "exception",           -- booking cancelled: nothing will move
  ["Return to Sender"] = "exception",    -- the return leg starts; not final yet
  ["Returned to Sender"] = "returned_to_sender",
  ["Returned"] = "returned_to_sender",
}
-- Unknown event types: every event is a scan of a parcel Sendle handles.
local DEFAULT_STATUS = "in_transit"

local DEFAULT_BASE_URL = "https://api.sendle.com"

local str = text.clean        -- trimmed text; integral numbers as digits; nil when empty
local norm_code = text.code   -- upper case, no whitespace; nil when empty
local short = text.short      -- one line, cut at n bytes (default 120)

-- Offset in minutes written at the end of an ISO time ("Z", "-04:00", "+1000"), or nil.
local function written_offset(s)
  if not s then return nil end
  if s:match("[Zz]$") then return 0 end
  local sign, h, m = s:match("T[%d:%.]+([%+%-])(%d%d):?(%d%d)$")
  if not sign then return nil end
  local v = tonumber(h) * 60 + tonumber(m)
  return sign == "-" and -v or v
end

-- "NEW YORK, NY" -> city + state; anything else -> facility.
local function place(text)
  local s = str(text)
  if not s then return nil end
  local city, state = s:match("^([^,]-)%s*,%s*([^,]+)$")
  if city and city ~= "" then return { city = city, state = state } end
  return { facility = s }
end

local function read_event(e, i, warned)
  if type(e) ~= "table" then return nil, ("tracking_events[%d] is not an object"):format(i) end
  local kind = str(e.event_type)
  if not kind then return nil, ("tracking_events[%d] has no event_type"):format(i) end
  local scan = str(e.scan_time) or str(e.display_time)
  local at = scan and time.parse(scan, "iso", "UTC")
  if not at then
    return nil, ("tracking_events[%d] (%s): cannot read scan_time %s"):format(i, kind, scan and ("'" .. short(scan, 40) .. "'") or "(missing)")
  end
  -- The event's local offset: local_scan_time minus the UTC instant, else display_time's offset.
  local offset
  local wall = str(e.local_scan_time)      -- local wall clock, without an offset
  wall = wall and (wall:match("^%d%d%d%d%-%d%d%-%d%d[T ]%d%d:%d%d:%d%d") or wall:match("^%d%d%d%d%-%d%d%-%d%d[T ]%d%d:%d%d"))
  local loc_t, utc_t = time.epoch(wall), time.epoch(at)
  if loc_t and utc_t and (loc_t - utc_t) % 60 == 0 and math.abs(loc_t - utc_t) <= 14 * 3600 then
    offset = (loc_t - utc_t) // 60
  else
    offset = written_offset(str(e.display_time))
  end
  local status = STATUS[kind]
  if not status then
    status = DEFAULT_STATUS
    if not warned[kind] then
      warned[kind] = true
      log.warn("sendle: unknown event type, treated as " .. DEFAULT_STATUS, { event_type = kind })
    end
  end
  return {
    occurred_at = at, zone = time.zone(offset or 0), status = status,
    code = kind, description = str(e.description) or kind,
    location = place(e.location),
  }
end

local function date_only(s)
  s = str(s)
  if s and s:match("^%d%d%d%d%-%d%d%-%d%d$") then return time.parse(s, "iso", "UTC") end
  return nil
end

local function read_tracking(doc, code)
  local list = doc.tracking_events
  if list == json.null then list = {} end
  if type(list) ~= "table" then return failure.broken("'tracking_events' is not a list", nil) end
  local events, warned = {}, {}
  for i, e in ipairs(list) do
    local ev, why = read_event(e, i, warned)
    if not ev then return failure.broken(why, nil) end
    events[#events + 1] = ev
  end
  -- Sendle lists oldest first (stable sort keeps equal instants in Sendle's order).
  local indexed = {}
  for i, ev in ipairs(events) do indexed[i] = { i = i, ev = ev } end
  table.sort(indexed, function(a, b)
    if a.ev.occurred_at ~= b.ev.occurred_at then return a.ev.occurred_at > b.ev.occurred_at end
    return a.i > b.i
  end)
  local newest_first = {}
  for i, x in ipairs(indexed) do newest_first[i] = x.ev end
  local result = { events = newest_first }
  local state = str(doc.state)
  result.status = (state and STATUS[state]) or (newest_first[1] and newest_first[1].status) or nil
  if not result.status then
    if state then return failure.broken("unknown Sendle state '" .. short(state, 40) .. "' and no events", nil) end
    result.status = "pending"
  end
  if result.status == "delivered" then
    for _, ev in ipairs(newest_first) do
      if ev.status == "delivered" then result.delivered_at = ev.occurred_at; break end
    end
  else
    local sched = type(doc.scheduling) == "table" and doc.scheduling or {}
    result.estimated_delivery = date_only(sched.estimated_delivery_date_maximum) or date_only(sched.estimated_delivery_date_minimum)
  end
  return result
end

-- {"error": "...", "error_description": "..."} (Sendle's error body), as a failure.
local function error_failure(doc, http)
  local kind = str(doc.error)
  local msg = str(doc.error_description) or str(doc.message) or kind or ("HTTP " .. http)
  if kind == "not_found" or http == 404 then return failure.not_found(msg, kind) end
  if kind == "unauthorised" or kind == "unauthorized" or kind == "forbidden" or http == 401 or http == 403 then
    return failure.auth(msg, kind)
  end
  if kind == "too_many_requests" or http == 429 then return failure.rate_limited(nil, msg, kind) end
  if kind == "unprocessable_entity" or kind == "invalid_reference" then return failure.invalid_number(msg, kind) end
  return failure.broken("Sendle error " .. (kind or "?") .. ": " .. short(msg, 200), kind)
end

local function per_code(out, codes)
  if type(codes) == "table" and #codes == 1 and out.failure ~= nil and out.failure ~= "broken" then
    local kind = out.failure
    if kind == "not_found" or kind == "invalid_number" then return { [codes[1]] = out } end
  end
  return out
end

-- A JSON object body, or nil.
local function body_doc(body)
  local doc = body:match("^%s*{") and json.decode(body) or nil
  if type(doc) ~= "table" then return nil end
  return doc
end

local function error_message(body)
  local doc = body_doc(body)
  return doc and (str(doc.error_description) or str(doc.error))
end

local function parse(response, codes, ctx)
  if type(response) ~= "table" then return failure.broken("no response", nil) end
  local f = http.triage(response, { message = error_message, refused = "Sendle refused the credentials", expect = "JSON from Sendle", now = value.table(ctx) and ctx.now })
  if f then return f end
  local status = math.tointeger(tonumber(response.status)) or 0
  local body = type(response.body) == "string" and response.body or ""
  local doc = body_doc(body)

  if not doc then
    if body:match("^%s*$") then return failure.broken("empty body (HTTP " .. status .. ")", nil) end
    return failure.broken("body is not a JSON object (HTTP " .. status .. "): '" .. short(body, 40) .. "'", nil)
  end
  if doc.error ~= nil then return per_code(error_failure(doc, status), codes) end
  if doc.tracking_events == nil and doc.state == nil then
    if status == 404 then return per_code(failure.not_found("HTTP 404", nil), codes) end
    local keys = {}
    for k in pairs(doc) do keys[#keys + 1] = tostring(k) end
    table.sort(keys)
    return failure.broken("JSON without 'tracking_events' or 'state' (keys: " .. short(table.concat(keys, ", "), 100) .. ")", nil)
  end
  if status ~= 0 and (status < 200 or status >= 300) then
    return failure.broken("HTTP " .. status .. " with a tracking body", nil)
  end
  local result = read_tracking(doc, codes)
  if type(codes) == "table" and #codes >= 1 then return { [codes[1]] = result } end
  -- A replayed body without the asked code: Sendle's body does not repeat the reference.
  local ref = norm_code(doc.sendle_reference) or norm_code(doc.reference) or "UNKNOWN"
  return { [ref] = result }
end

-- Sendle references: 6 to 10 letters and digits (e.g. "SNDL42").
local function validate(code)
  if type(code) ~= "string" then return false, "tracking number must be text" end
  local s = code:gsub("%s+", ""):upper()
  if not s:match("^[%u%d]+$") then return false, "a Sendle reference has only letters and digits" end
  if #s < 6 or #s > 10 then return false, ("a Sendle reference has 6 to 10 characters, got %d"):format(#s) end
  if not s:match("%u") then return false, "a Sendle reference contains letters" end
  return true
end

local function request(codes, config, ctx)
  local headers = { Accept = "application/json" }
  local id, key = str(config and config.sendle_id), str(config and config.api_key)
  if id and key then headers.Authorization = "Basic " .. base64.encode(id .. ":" .. key) end
  return {
    method = "GET",
    url = http.base_url(config, DEFAULT_BASE_URL) .. "/api/tracking/" .. url.escape(norm_code(codes[1]) or ""),
    headers = headers, timeout = 30,
  }
end

return {
  id = "sendle", name = "Sendle", api = 1,
  hosts = { "api.sendle.com" },
  tracking_url = "https://track.sendle.com/tracking?ref={code}",
  limits = { concurrency = 4, per_second = 5, batch = 1 },
  validate = validate,
  request = request,
  parse = parse,
}
