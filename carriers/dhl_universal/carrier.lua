-- DHL Shipment Tracking - Unified API (all DHL divisions behind one endpoint).
--
-- GET https://api-eu.dhl.com/track/shipments?trackingNumber=... with the
-- subscription key in the DHL-API-Key header (config.api_key). One tracking
-- number per request. Errors are RFC 7807 problem documents
-- ({title, status, detail, instance}).
-- Event timestamps are local wall time of the scan, usually without an offset
-- and without any zone name: read as UTC so the printed time is kept.

local DEFAULT_BASE_URL = "https://api-eu.dhl.com"

---------------------------------------------------------------------------
-- Status table: DHL's simplified statusCode -> normalized status.
-- DHL documents only five codes; finer detail lives in the free text.
---------------------------------------------------------------------------
local STATUS = {
  -- DHL: "Currently awaiting shipment, and tracking will be updated when
  -- received": the shipment data exists, the parcel is not with DHL yet.
  ["pre-transit"] = "info_received",
  ["transit"] = "in_transit",
  ["delivered"] = "delivered",
  -- "failure" covers failed attempts, customs holds, expiry at a service
  -- point and returns: exception is the honest common denominator.
  ["failure"] = "exception",
  -- "A simplified status code is not available": still a scan of a parcel
  -- DHL handles, so in_transit (non-terminal) rather than pending.
  ["unknown"] = "in_transit",
}
local DEFAULT_STATUS = "in_transit"

local str = text.clean        -- trimmed text; integral numbers as digits; nil when empty
local tbl = value.table       -- the value when it is a table, else nil
local short = text.short      -- one line, cut at n bytes

local function validate(code)
  local c = (type(code) == "string" and code or ""):gsub("%s+", ""):upper()
  if c == "" then return false, "empty" end
  if c:match("[^%w]") then return false, "only letters and digits are allowed" end
  -- DHL Express waybill: 10 digits, last = first nine mod 7.
  if c:match("^%d%d%d%d%d%d%d%d%d%d$") then
    return check.verdict(check.mod7(c:sub(1, 9)), tonumber(c:sub(10)))
  end
  -- UPU S10 (DHL Paket international, DHL eCommerce): AA123456785DE.
  local digits = c:match("^%u%u(%d%d%d%d%d%d%d%d%d)%u%u$")
  if digits then
    return check.verdict(check.s10(digits:sub(1, 8)), tonumber(digits:sub(9)))
  end
  -- SSCC (NVE) with or without the 00 application identifier: GS1 mod 10.
  if c:match("^%d+$") and (#c == 18 or #c == 20) then
    local body = c:sub(1, -2)
    return check.verdict(check.gs1(body), tonumber(c:sub(-1)))
  end
  -- Parcel Germany 12/20 digits, JJD/JVGL/GM/LX... piece ids: format only.
  if #c < 8 then return false, "length: at least 8 characters" end
  if #c > 39 then return false, "length: at most 39 characters" end
  return true
end

-- A problem document ({title, status, detail}) as a failure, or nil.
local function problem_failure(doc, http_status)
  local title, detail = str(doc.title), str(doc.detail)
  local status = tonumber(doc.status) or http_status
  if not (title or detail) or not status then return nil end
  local code = string.format("%d", status)
  local message = detail or title
  if status == 404 then return failure.not_found(message, code) end
  if status == 401 or status == 403 then return failure.auth(message, code) end
  if status == 429 then return failure.rate_limited(nil, message, code) end
  if status >= 500 then return failure.temporary(message, code) end
  if status == 400 and ((detail or ""):lower():find("tracking") or (title or ""):lower():find("tracking")) then
    return failure.invalid_number(message, code)
  end
  return failure.broken(("DHL error %s: %s"):format(code, short(message, 160)), code)
end

local function place(loc)
  loc = tbl(loc)
  local addr = loc and tbl(loc.address)
  if not addr then return nil end
  local out = {
    city = str(addr.addressLocality),
    postal = str(addr.postalCode),
    country = str(addr.countryCode),
    facility = str(addr.streetAddress),
  }
  if next(out) == nil then return nil end
  return out
end

-- UTC time and the zone to show it in: the printed offset when there is one
-- ("+01:00"), else "UTC" so the printed wall time is kept.
local function read_time(ts)
  ts = str(ts)
  if not ts then return nil end
  local at = time.parse(ts, "iso", "UTC")
  if not at then return nil end
  local sign, hh, mm = ts:match("T[%d:%.]+([%+%-])(%d%d):?(%d%d)$")
  if sign then return at, sign .. hh .. ":" .. mm end
  return at, "UTC"
end

local function event_from(e, i, warned)
  if type(e) ~= "table" then return nil, ("events[%d] is not an object"):format(i) end
  local at, zone = read_time(e.timestamp)
  if not at then return nil, ("events[%d]: cannot read timestamp %s"):format(i, short(str(e.timestamp) or "(missing)", 40)) end
  local code = str(e.statusCode) or "unknown"
  local status = STATUS[code:lower()]
  if not status then
    status = DEFAULT_STATUS
    if not warned[code] then
      warned[code] = true
      log.warn("dhl_universal: unknown statusCode, treated as " .. DEFAULT_STATUS, { statusCode = code })
    end
  end
  return {
    occurred_at = at, zone = zone, status = status, code = code,
    description = str(e.description) or str(e.status) or str(e.remark) or "",
    location = place(e.location),
  }
end

local function shipment_result(s, warned)
  local events = {}
  local list = s.events
  if list ~= nil and list ~= json.null and type(list) ~= "table" then
    return failure.broken("'events' is not a list")
  end
  for i, e in ipairs(list or {}) do
    local ev, err = event_from(e, i, warned)
    if not ev then return failure.broken(err) end
    events[#events + 1] = ev
  end
  if #events == 0 and tbl(s.status) then
    local ev = event_from(s.status, 0, warned)
    if ev then events[1] = ev end
  end
  local result = { events = events }
  if events[1] then result.status = events[1].status end
  local eta = str(s.estimatedTimeOfDelivery)
  if eta then result.estimated_delivery = time.parse(eta, "iso", "UTC") end
  if result.status == "delivered" then
    result.delivered_at = events[1].occurred_at
    local pod = tbl(tbl(s.details) and s.details.proofOfDelivery)
    local signed = pod and tbl(pod.signed)
    if signed then result.signed_by = str(signed.name) end
  end
  return result
end

local function parse(response, codes, ctx)
  local status = tonumber(response.status) or 0
  local body = response.body or ""
  local doc = nil
  if body:match("^%s*[{%[]") then doc = json.decode(body) end

  if type(doc) == "table" and type(doc.shipments) == "table" then
    local results, warned = {}, {}
    for i, s in ipairs(doc.shipments) do
      if type(s) ~= "table" then return failure.broken(("shipments[%d] is not an object"):format(i)) end
      local id = str(s.id)
      if not id then return failure.broken(("shipments[%d] has no 'id'"):format(i)) end
      id = id:upper()
      if results[id] == nil then                 -- several divisions may answer: the first wins
        local ok, r = pcall(shipment_result, s, warned)
        results[id] = ok and r or failure.broken("unreadable shipment: " .. short(r, 80))
      end
    end
    if next(results) == nil then
      if codes and codes[1] then
        for _, c in ipairs(codes) do results[c] = failure.not_found("DHL returned no shipment", nil) end
        return results
      end
      return failure.broken("'shipments' is empty")
    end
    return results
  end

  if type(doc) == "table" then
    local f = problem_failure(doc, status ~= 200 and status or nil)
    if f then return f end
  end
  local f = http.triage(response, { status_code = true, now = value.table(ctx) and ctx.now })
  if f then return f end
  if status == 404 then return failure.not_found("HTTP 404", "404") end
  if type(doc) ~= "table" then
    return failure.broken(("expected JSON with 'shipments', got %s"):format(short(body, 60)))
  end
  return failure.broken("JSON without 'shipments' or a problem document")
end

return {
  id = "dhl_universal",
  name = "DHL (Shipment Tracking - Unified)",
  api = 1,
  hosts = { "api-eu.dhl.com" },
  tracking_url = "https://www.dhl.com/global-en/home/tracking/tracking-parcel.html?submit=1&tracking-id={code}",
  limits = { concurrency = 2, per_second = 3, batch = 1 },

  validate = validate,

  request = function(codes, config, ctx)
    local headers = { Accept = "application/json" }
    local key = str(config and config.api_key)
    if key then headers["DHL-API-Key"] = key end
    local q = { trackingNumber = codes[1] }
    if str(config and config.service) then q.service = str(config.service) end
    if str(config and config.language) then q.language = str(config.language) end
    return { method = "GET", url = http.base_url(config, DEFAULT_BASE_URL) .. "/track/shipments?" .. url.query(q), headers = headers, timeout = 30 }
  end,

  parse = failure.guard(parse, "dhl_universal script"),
}
