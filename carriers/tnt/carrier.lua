-- TNT Express: ExpressConnect Tracking (TrackRequest / TrackResponse 3.1, XML).
--
-- POST {base}/expressconnect/track.do?version=3.1 with the form field
-- xml_in=<TrackRequest>...; HTTP Basic auth with the ExpressConnect user id
-- and password. One request may carry several consignment numbers.
-- Events (StatusData) come newest first, in the depot's local time without
-- an offset; the depot's zone is not given, so times are kept as printed (UTC).
-- TNT reuses consignment numbers: one answer may hold several <Consignment>
-- with the same number. They are returned as a list under that number, in
-- TNT's order; rastro tracks the one with the newest event.

local ZONE = "UTC"
local DEFAULT_BASE = "https://express.tnt.com"

---------------------------------------------------------------------------
-- Status table: StatusCode of a StatusData entry.
---------------------------------------------------------------------------
local STATUS = {
  ["OK"] = "delivered",          -- Shipment Delivered In Good Condition
  ["OD"] = "out_for_delivery",   -- Out For Delivery
  ["CI"] = "in_transit",         -- Shipment Received At Origin Depot (first physical scan)
  ["IR"] = "in_transit",         -- Shipment Received At TNT Location (inbound at depot)
  ["IS"] = "in_transit",         -- Shipment Received At TNT Location (hub sort)
  ["AS"] = "in_transit",         -- Shipment Received At Transit Point
  ["TR"] = "in_transit",         -- Shipment In Transit
  ["PU"] = "in_transit",         -- Collected from the sender
  -- NR / MLA are delays with TNT already recovering: still moving, nothing for the customer to do.
  ["NR"] = "in_transit",         -- Shipment Delayed In Transit, Recovery Actions Underway
  ["MLA"] = "in_transit",        -- Connection Delay. Recovery Actions Underway
  ["CC"] = "exception",          -- Held by customs / awaiting clearance (needs documents or duties)
  ["HO"] = "exception",          -- Held, awaiting instructions
  ["NH"] = "attempt_failed",     -- Receiver not at home, delivery attempted
  ["CA"] = "attempt_failed",     -- Closed on arrival
  ["RP"] = "available_for_pickup", -- Ready for collection at depot
  ["RT"] = "returned_to_sender", -- Returned to sender
}

-- SummaryCode of a Consignment, used when it has no StatusData.
local SUMMARY = {
  ["DEL"] = "delivered",    -- delivered
  ["INT"] = "in_transit",   -- in transit
  ["EXC"] = "exception",    -- exception
  ["CNF"] = false,          -- consignment not found
}

local str = text.clean        -- trimmed text; nil when empty
local tbl = value.table       -- the value when it is a table, else nil
local short = text.short      -- one line, cut at n bytes (default 120)

local norm_code = text.code   -- upper case, no whitespace; nil when empty

local function clean(s)
  s = str(s)
  if not s then return nil end
  return (s:gsub("%s+", " "))
end

local function when(date, hhmm)
  date = str(date)
  if not date or not date:match("^%d%d%d%d%d%d%d%d$") then return nil end
  hhmm = str(hhmm)
  if hhmm and hhmm:match("^%d%d%d%d$") then
    return time.parse(date .. hhmm, "%Y%m%d%H%M", ZONE)
  end
  return time.parse(date, "%Y%m%d", ZONE)
end

local function consignment(node)
  local events = {}
  for _, sd in ipairs(node:children("StatusData")) do
    local code = str(sd:text("StatusCode")) or ""
    local at = when(sd:text("LocalEventDate"), sd:text("LocalEventTime"))
    if not at then return failure.broken("StatusData without a readable LocalEventDate/LocalEventTime", nil) end
    local status = STATUS[code]
    if not status then
      if code ~= "" then log.warn("tnt: unknown status code", { code = code }) end
      status = "in_transit"
    end
    local ev = {
      occurred_at = at, zone = ZONE, code = code, status = status,
      description = clean(sd:text("StatusDescription")) or code,
    }
    -- The depot's name with TNT's depot code: "Pamplona (PNA)".
    local depot, name = str(sd:text("Depot")), clean(sd:text("DepotName"))
    if name and depot and name:upper() ~= depot:upper() then
      ev.location = { facility = name .. " (" .. depot .. ")" }
    elseif name or depot then
      ev.location = { facility = name or depot }
    end
    events[#events + 1] = ev
  end
  local summary = str(node:text("SummaryCode"))
  if #events == 0 then
    if summary == "CNF" or summary == nil then
      return failure.not_found("TNT does not know this consignment" .. (summary and " (CNF)" or ""), summary)
    end
  end
  local out = { events = events }
  if #events > 0 then out.status = events[1].status end
  if summary and SUMMARY[summary] then
    if summary == "DEL" or not out.status then out.status = SUMMARY[summary] end
  end
  out.status = out.status or "info_received"
  if out.status == "delivered" then
    out.delivered_at = when(node:text("DeliveryDate"), node:text("DeliveryTime"))
    if not out.delivered_at and #events > 0 then out.delivered_at = events[1].occurred_at end
    out.signed_by = clean(node:text("Signatory"))
  end
  return out
end

local function parse_xml(root, codes)
  if root.name ~= "TrackResponse" then
    return failure.broken("XML <" .. tostring(root.name) .. "> is not a TNT TrackResponse", nil)
  end
  local err = root:child("Error")
  local list = root:children("Consignment")
  if err and #list == 0 then
    local code = str(err:text("Code"))
    local msg = clean(err:text("Message")) or "TNT returned an error"
    -- 9000-range codes are access errors (Unauthorized Access).
    if code and code:match("^9%d%d%d$") then return failure.auth(msg, code) end
    return failure.broken("TNT error " .. (code or "?") .. ": " .. msg, code)
  end
  local requested = text.codes(codes)
  local results, n = {}, 0
  local shipments = {}   -- number -> every consignment under it, in TNT's order
  for _, node in ipairs(list) do
    local num = norm_code(node:text("ConsignmentNumber"))
    if num then
      local key = requested[num] or num
      local all = shipments[key]
      if not all then all = {}; shipments[key] = all end
      all[#all + 1] = consignment(node)
      n = n + 1
    end
  end
  -- The same number can come back more than once (TNT reuses numbers):
  -- a list of results, which rastro accepts for exactly this.
  for key, all in pairs(shipments) do
    results[key] = (#all == 1) and all[1] or all
  end
  -- Codes asked for and absent from the answer are unknown to TNT.
  for _, c in ipairs(tbl(codes) or {}) do
    local k = requested[norm_code(c) or ""]
    if k and results[k] == nil then results[k] = failure.not_found("TNT returned nothing for this consignment", nil) ; n = n + 1 end
  end
  if n == 0 then return failure.broken("TrackResponse without any Consignment", nil) end
  return results
end

local function parse(response, codes, ctx)
  if type(response) ~= "table" then return failure.broken("no response", nil) end
  local f = http.triage(response, { refused = "TNT refused the credentials", wait = 60, expect = "XML from TNT", now = tbl(ctx) and ctx.now })
  if f then return f end
  local status = math.tointeger(tonumber(response.status)) or 0
  local body = type(response.body) == "string" and response.body or ""
  if body:sub(1, 3) == "\239\187\191" then body = body:sub(4) end
  if not body:match("^%s*<") then return failure.broken("expected XML from TNT, body starts with '" .. short(body, 40) .. "'", nil) end
  local root, err = xml.parse(body)
  if not root then return failure.broken("body is not well-formed XML: " .. short(err), nil) end
  local out = parse_xml(root, codes)
  if status >= 200 and status < 300 then return out end
  if out.failure == nil then return out end
  return failure.broken("HTTP " .. status .. ": " .. tostring(out.message), nil)
end

---------------------------------------------------------------------------
-- Contract functions
---------------------------------------------------------------------------

-- TNT consignment notes: 9 digits (no published check digit), or the
-- international S10-style form GE123456785WW (mod-11 check digit).
local function validate(code)
  if type(code) ~= "string" then return false, "tracking number must be text" end
  local s = code:gsub("%s+", ""):upper()
  if s:match("^%d+$") then
    if #s == 9 then return true end
    return false, ("a TNT consignment number has 9 digits, got %d"):format(#s)
  end
  if #s ~= 13 or not s:match("^%u%u%d%d%d%d%d%d%d%d%d%u%u$") then
    return false, "expected 9 digits or 2 letters, 9 digits, 2 letters (e.g. GE123456785WW)"
  end
  return check.verdict(check.s10(s:sub(3, 10)), s:byte(11) - 48)
end

local function esc(s)
  return (tostring(s):gsub("&", "&amp;"):gsub("<", "&lt;"):gsub(">", "&gt;"))
end

local function request(codes, config, ctx)
  config = tbl(config) or {}
  local user, password = str(config.user_id) or str(config.username), str(config.password)
  if not user or not password then
    error("tnt: config.user_id and config.password are required (ExpressConnect credentials)", 0)
  end
  local numbers = {}
  for _, c in ipairs(tbl(codes) or {}) do
    local n = norm_code(c)
    if n then numbers[#numbers + 1] = "<ConsignmentNumber>" .. esc(n) .. "</ConsignmentNumber>" end
  end
  local xml_in = '<?xml version="1.0" encoding="UTF-8"?>'
    .. '<TrackRequest locale="' .. esc(str(config.locale) or "en_US") .. '" version="3.1">'
    .. "<SearchCriteria>" .. table.concat(numbers) .. "</SearchCriteria>"
    .. '<LevelOfDetail><Complete originAddress="true" destinationAddress="true" package="true" shipment="true"/></LevelOfDetail>'
    .. "</TrackRequest>"
  return {
    method = "POST",
    url = http.base_url(config, DEFAULT_BASE) .. "/expressconnect/track.do?version=3.1",
    headers = {
      ["Authorization"] = "Basic " .. base64.encode(user .. ":" .. password),
      ["Content-Type"] = "application/x-www-form-urlencoded",
      ["Accept"] = "text/xml",
    },
    body = "xml_in=" .. url.escape(xml_in),
    timeout = 30,
  }
end

return {
  id = "tnt",
  name = "TNT Express",
  api = 1,
  hosts = { "express.tnt.com" },
  tracking_url = "https://www.tnt.com/express/en_gb/site/shipping-tools/tracking.html?cons={code}",
  limits = { concurrency = 2, per_second = 5, batch = 50 },
  validate = check.guard(validate),
  request = request,
  parse = failure.guard(parse, "tnt script"),
}
