-- Australia Post Shipping & Tracking API.
--
-- GET https://digitalapi.auspost.com.au/shipping/v1/track?tracking_ids=A,B,...
-- (at most 10 ids per request), HTTP Basic auth with the API key and password
-- (config.api_key, config.password) plus the `account-number` header
-- (config.account_number).
-- Response: {tracking_results: [{tracking_id, status, trackable_items | errors}]}.
-- A trackable item is an article ({article_id, events, status}) or a
-- consignment ({consignment_id, items: [articles]}). Event dates carry an
-- offset ("2021-01-21T11:04:27+11:00"); the zone is the Australian zone whose
-- offset at that instant matches.

local DEFAULT_BASE_URL = "https://digitalapi.auspost.com.au"

---------------------------------------------------------------------------
-- Status table: AusPost's item/result `status` text (lowercased) -> status.
-- Events have no code, only a description: their status comes from
-- EVENT_PATTERNS below.
---------------------------------------------------------------------------
local STATUS = {
  ["created"] = "info_received",          -- label created, shipping information only
  ["initiated"] = "info_received",
  ["sealed"] = "info_received",           -- manifested by the sender, not yet lodged
  ["in transit"] = "in_transit",
  ["unknown"] = "in_transit",              -- AusPost holds it but gives no summary; non-terminal
  ["awaiting collection"] = "available_for_pickup",
  ["held by courier"] = "exception",
  ["cannot be delivered"] = "attempt_failed",
  ["delivered"] = "delivered",
  ["delivered in part"] = "in_transit",    -- a consignment with items still moving
  ["possible delay"] = "in_transit",       -- late, still moving
  ["article damaged"] = "exception",
  ["cancelled"] = "exception",
  ["unsuccessful pickup"] = "exception",
  ["returned to sender"] = "returned_to_sender",
  ["track items for detailed delivery information"] = "in_transit",
}

-- Event descriptions -> status, first match wins (lowercased, plain find).
local EVENT_PATTERNS = {
  { "delivered to sender", "returned_to_sender" },
  { "returned to sender", "returned_to_sender" },
  { "return to sender", "exception" },        -- "being returned": the return leg, not final
  { "delivered", "delivered" },
  { "onboard for delivery", "out_for_delivery" },
  { "with driver for delivery", "out_for_delivery" },
  { "out for delivery", "out_for_delivery" },
  { "awaiting collection", "available_for_pickup" },
  { "ready for collection", "available_for_pickup" },
  { "attempted delivery", "attempt_failed" },
  { "unable to deliver", "attempt_failed" },
  { "cannot be delivered", "attempt_failed" },
  { "card left", "attempt_failed" },
  { "damaged", "exception" },
  { "held", "exception" },
  { "shipping information received", "info_received" },
  { "shipping information approved", "info_received" },
}
local DEFAULT_STATUS = "in_transit"

-- Zones AusPost scans are printed in, tried in order for a matching offset.
local ZONES = { "Australia/Sydney", "Australia/Brisbane", "Australia/Adelaide", "Australia/Darwin", "Australia/Perth" }
local AU_STATES = { NSW = true, VIC = true, QLD = true, SA = true, WA = true, TAS = true, NT = true, ACT = true }

local str = text.clean        -- trimmed text; integral numbers as digits; nil when empty
local tbl = value.table       -- the value when it is a table, else nil
local short = text.short      -- one line, cut at n bytes

local function validate(code)
  local c = (type(code) == "string" and code or ""):gsub("%s+", ""):upper()
  if c == "" then return false, "empty" end
  if c:match("[^%w]") then return false, "only letters and digits are allowed" end
  -- UPU S10 (international and domestic articles): AA123456785AU.
  local digits = c:match("^%u%u(%d%d%d%d%d%d%d%d%d)%u%u$")
  if digits then
    return check.verdict(check.s10(digits:sub(1, 8)), tonumber(digits:sub(9)))
  end
  -- eParcel / StarTrack consignments and article ids (e.g. 33ABC1234567,
  -- 3ABC12345678901), and 20-23 digit barcodes: format only, AusPost
  -- publishes no check digit scheme for them.
  if #c < 10 then return false, "length: at least 10 characters" end
  if #c > 40 then return false, "length: at most 40 characters" end
  if not c:match("%d") then return false, "letters only" end
  return true
end

-- "2021-01-21T11:04:27+11:00" -> UTC and the Australian zone that printed it.
local function read_time(text)
  local at = time.parse(text, "iso", "UTC")
  if not at then return nil end
  local wall = text:match("^(%d%d%d%d%-%d%d%-%d%dT%d%d:%d%d:?%d*)")
  local has_offset = text:match("[%+%-]%d%d:?%d%d$") or text:match("Z$")
  if wall and has_offset then
    for _, zone in ipairs(ZONES) do
      if time.parse(wall, "iso", zone) == at then return at, zone end
    end
    local off = text:match("([%+%-]%d%d:?%d%d)$")
    return at, off or "UTC"
  end
  -- No offset: AusPost's own wall time, zone unknown.
  return at, "UTC"
end

local function place(text)
  text = str(text)
  if not text then return nil end
  local loc = { facility = text }
  local state = text:match("%s(%u%u%u?)$")
  if state and AU_STATES[state] then
    loc.state, loc.country = state, "AU"
    loc.city = text:sub(1, -(#state + 2)):match("^%s*(.-)%s*$")
  end
  return loc
end

local function event_status(description)
  local d = (description or ""):lower()
  for _, p in ipairs(EVENT_PATTERNS) do
    if d:find(p[1], 1, true) then return p[2] end
  end
  return DEFAULT_STATUS
end

local function read_events(list, out)
  if list == nil or list == json.null then return true end
  if type(list) ~= "table" then return nil, "'events' is not a list" end
  for i, e in ipairs(list) do
    if type(e) ~= "table" then return nil, ("events[%d] is not an object"):format(i) end
    local when = str(e.date)
    local at, zone = nil, nil
    if when then at, zone = read_time(when) end
    if not at then return nil, ("events[%d]: cannot read date %s"):format(i, short(when or "(missing)", 40)) end
    local description = str(e.description) or ""
    out[#out + 1] = {
      -- AusPost events have no code: the description is the only identifier.
      occurred_at = at, zone = zone, status = event_status(description),
      code = description ~= "" and description or "event", description = description, location = place(e.location),
    }
  end
  return true
end

-- Newest first across the articles of a consignment (stable for one article).
local function sort_events(events)
  for i, ev in ipairs(events) do ev._i = i end
  table.sort(events, function(a, b)
    if a.occurred_at ~= b.occurred_at then return a.occurred_at > b.occurred_at end
    return a._i < b._i
  end)
  for _, ev in ipairs(events) do ev._i = nil end
end

local function status_word(v)
  local s = str(v)
  return s and STATUS[s:lower()], s
end

local function result_for(entry)
  local items = entry.trackable_items
  if type(items) ~= "table" then return failure.broken("'trackable_items' is not a list") end
  local events, summary = {}, nil
  for i, item in ipairs(items) do
    if type(item) ~= "table" then return failure.broken(("trackable_items[%d] is not an object"):format(i)) end
    local ok, err = read_events(item.events, events)
    if not ok then return failure.broken(err) end
    summary = summary or status_word(item.status)
    if type(item.items) == "table" then     -- a consignment: its articles carry the events
      for j, article in ipairs(item.items) do
        if type(article) ~= "table" then return failure.broken(("items[%d] is not an object"):format(j)) end
        ok, err = read_events(article.events, events)
        if not ok then return failure.broken(err) end
        summary = summary or status_word(article.status)
      end
    end
  end
  sort_events(events)
  local top = status_word(entry.status)
  local result = { events = events, status = top or summary or (events[1] and events[1].status) }
  if not result.status then
    local _, word = status_word(entry.status)
    if word then
      log.warn("australiapost: unknown status, treated as " .. DEFAULT_STATUS, { status = word })
      result.status = DEFAULT_STATUS
    end
  end
  if result.status == "delivered" then
    for _, ev in ipairs(events) do
      if ev.status == "delivered" then result.delivered_at = ev.occurred_at break end
    end
  end
  return result
end

-- {code, name, message} -> failure.
local function error_failure(err)
  err = tbl(err) or {}
  local code = str(err.code)
  local message = str(err.message) or str(err.name) or "Australia Post error"
  local lower = ((str(err.name) or "") .. " " .. message):lower()
  if code == "ESB-10001" or lower:find("invalid tracking") then return failure.invalid_number(message, code) end
  if code == "ESB-10002" or lower:find("not found") or lower:find("no tracking") then return failure.not_found(message, code) end
  if code == "51101" or lower:find("too_many") then return failure.broken(message, code) end
  if lower:find("unauthori") or lower:find("authenticat") or lower:find("forbidden") then return failure.auth(message, code) end
  if lower:find("rate") and lower:find("limit") then return failure.rate_limited(nil, message, code) end
  return failure.not_found(message, code)
end

local function parse(response, codes, ctx)
  local status = tonumber(response.status) or 0
  local body = response.body or ""
  local doc = nil
  if body:match("^%s*[{%[]") then doc = json.decode(body) end

  if type(doc) == "table" and type(doc.tracking_results) == "table" then
    local results = {}
    for i, entry in ipairs(doc.tracking_results) do
      if type(entry) ~= "table" then return failure.broken(("tracking_results[%d] is not an object"):format(i)) end
      local id = str(entry.tracking_id)
      if not id then return failure.broken(("tracking_results[%d] has no 'tracking_id'"):format(i)) end
      id = id:gsub("%s+", ""):upper()
      local errs = tbl(entry.errors)
      if errs and errs[1] then
        results[id] = error_failure(errs[1])
      else
        local ok, r = pcall(result_for, entry)
        results[id] = ok and r or failure.broken("unreadable result: " .. short(r, 80))
      end
    end
    if next(results) == nil then return failure.broken("'tracking_results' is empty") end
    return results
  end

  local f = http.triage(response, { status_code = true, now = value.table(ctx) and ctx.now })
  if f then return f end

  if type(doc) == "table" and type(doc.errors) == "table" and tbl(doc.errors[1]) then
    return error_failure(doc.errors[1])
  end
  if type(doc) == "table" and (str(doc.error) or str(doc.message)) then
    local message = str(doc.error_description) or str(doc.message) or str(doc.error)
    if status == 401 or (str(doc.error) or ""):lower():find("unauthori") then return failure.auth(message) end
    return failure.broken("Australia Post error: " .. short(message, 160))
  end
  if type(doc) ~= "table" then
    return failure.broken(("expected JSON with 'tracking_results', got %s"):format(short(body, 60)))
  end
  return failure.broken("JSON without 'tracking_results' or 'errors'")
end

return {
  id = "australiapost",
  name = "Australia Post",
  api = 1,
  hosts = { "digitalapi.auspost.com.au" },
  tracking_url = "https://auspost.com.au/mypost/track/details/{code}",
  limits = { concurrency = 2, per_second = 1, batch = 10 },

  validate = validate,

  request = function(codes, config, ctx)
    local headers = { Accept = "application/json" }
    local key, password = str(config and config.api_key), str(config and config.password)
    if key then headers.Authorization = "Basic " .. base64.encode(key .. ":" .. (password or "")) end
    local account = str(config and config.account_number)
    if account then headers["account-number"] = account end
    return {
      method = "GET",
      url = http.base_url(config, DEFAULT_BASE_URL) .. "/shipping/v1/track?tracking_ids=" .. url.escape(table.concat(codes, ",")),
      headers = headers, timeout = 30,
    }
  end,

  parse = failure.guard(parse, "australiapost script"),
}
