-- UPS.
--
-- Talks to the current UPS Track API (OAuth 2 client credentials at
-- /security/v1/oauth/token, then GET /api/track/v1/details/{inquiryNumber}),
-- one inquiry number per request. Also reads the legacy XML Track API
-- (<TrackResponse>) that older integrations recorded.
--
-- UPS prints local wall times without a zone. The REST API adds gmtDate /
-- gmtTime / gmtOffset on newer responses; when gmtOffset is there we use it
-- as the event's zone, otherwise the local time is kept as "UTC" so the
-- wall time shown is the one UPS printed.
--
-- Event order: the REST API lists activities newest first and we keep that.
-- The legacy XML lists them newest first too, and so do we (the corpus
-- checker knows ActiveShipping's assertions are oldest first).

---------------------------------------------------------------------------
-- Status table. UPS's status "type" is the coarse state; a few activity
-- codes refine it (STATUS_BY_CODE wins over STATUS_BY_TYPE).
---------------------------------------------------------------------------
local STATUS_BY_TYPE = {
  ["D"] = "delivered",
  ["I"] = "in_transit",
  ["P"] = "in_transit",           -- pickup scan: UPS has the parcel
  ["M"] = "info_received",        -- billing information / label created, no scan yet
  ["MV"] = "exception",           -- billing information voided: the label was cancelled
  ["X"] = "exception",            -- exception (delays, customs holds, refunds...), details in the description
  ["RS"] = "returned_to_sender",  -- returned to shipper
  ["O"] = "out_for_delivery",
  -- Freight-only types: the goods sit at a container freight station or
  -- warehouse between legs; nothing is delivered to the consignee yet.
  ["DO"] = "in_transit",          -- delivered to origin CFS
  ["DD"] = "in_transit",          -- delivered to destination CFS
  ["W"] = "in_transit",           -- warehousing
  ["NA"] = "pending",             -- not available
}

local STATUS_BY_CODE = {
  ["OT"] = "out_for_delivery",    -- Out For Delivery Today
  ["OF"] = "out_for_delivery",    -- Out for delivery (legacy code)
  ["OD"] = "out_for_delivery",    -- Out for delivery (legacy code)
  ["ZP"] = "available_for_pickup", -- delivered to a UPS Access Point, awaiting customer pickup
  ["2W"] = "available_for_pickup", -- held at a UPS Access Point for pickup
  ["KM"] = "available_for_pickup", -- ready for pickup at UPS facility
  ["MP"] = "info_received",       -- Shipper created a label, UPS has not received the package yet
}

-- Unknown types: every activity is a scan of a parcel UPS holds.
local DEFAULT_STATUS = "in_transit"

-- UPS REST error codes that mean something specific.
local AUTH_CODES = {
  ["250001"] = true, ["250002"] = true, ["250003"] = true, -- invalid access / authentication / license
  ["250004"] = true, ["250005"] = true, ["250006"] = true, ["250007"] = true,
  ["10401"] = true,                                       -- gateway: ClientId is Invalid
}
local NOT_FOUND_CODES = {
  ["TW0001"] = true,  -- Tracking Information Not Found
  ["151044"] = true,  -- No tracking information available (legacy)
  ["151045"] = true,  -- No information for this tracking number (legacy)
}
local INVALID_CODES = {
  ["TV1002"] = true,  -- Invalid inquiry number
  ["151018"] = true,  -- Invalid tracking number (legacy)
  ["151068"] = true,  -- Invalid tracking number / reference (legacy)
}
local RATE_CODES = { ["429"] = true, ["250009"] = true }

local ZONE_UNKNOWN = "UTC"
local DEFAULT_BASE_URL = "https://onlinetools.ups.com"

---------------------------------------------------------------------------
-- Helpers
---------------------------------------------------------------------------

local str = text.clean        -- trimmed text; integral numbers as digits; nil when empty
local tbl = value.table       -- the value when it is a table, else nil
local norm_code = text.code   -- upper case, no whitespace; nil when empty
local short = text.short      -- one line, cut at n bytes (default 120)

-- A JSON value that may be one object or a list of objects, as a list.
local function list_of(v)
  if type(v) ~= "table" then return {} end
  if v[1] ~= nil or next(v) == nil then return v end
  return { v }
end

-- "20210210" + "071356" -> UTC ISO in `zone`
local function ups_time(date, clock, zone)
  date = str(date)
  if not date or not date:match("^%d%d%d%d%d%d%d%d$") then return nil end
  clock = str(clock)
  if clock and clock:match("^%d%d%d%d%d%d$") then
    return time.parse(date .. clock, "%Y%m%d%H%M%S", zone)
  end
  if clock and clock:match("^%d%d%d%d$") then
    return time.parse(date .. clock, "%Y%m%d%H%M", zone)
  end
  if clock and clock:match("^%d%d:%d%d:%d%d$") then
    return time.parse(date .. clock, "%Y%m%d%H:%M:%S", zone)
  end
  return time.parse(date, "%Y%m%d", zone)
end

local function status_for(type_code, code, description)
  local s = code and STATUS_BY_CODE[code]
  if s then return s end
  if description and description:upper():find("OUT FOR DELIVERY", 1, true) and type_code ~= "D" then
    return "out_for_delivery"
  end
  s = type_code and STATUS_BY_TYPE[type_code]
  if s then return s end
  if type_code or code then
    log.warn("ups: unknown status type", { type = type_code or "", code = code or "" })
  end
  return DEFAULT_STATUS
end

local function location(fields)
  local loc = {}
  local n = 0
  for k, v in pairs(fields) do
    local s = str(v)
    if s then loc[k] = s; n = n + 1 end
  end
  if n == 0 then return nil end
  return loc
end

-- Shipment-level status: delivered when any activity says so (UPS may add a
-- refund or billing note after the delivery scan), otherwise the newest event's.
local function overall(events, newest_index)
  for _, e in ipairs(events) do
    if e.status == "delivered" then return "delivered", e.occurred_at end
  end
  local newest = events[newest_index]
  if newest then return newest.status, nil end
  return "pending", nil
end

local function failure_for(code, message)
  code = str(code)
  message = str(message) or "UPS error"
  if code and AUTH_CODES[code] then return failure.auth(message, code), true end
  if code and RATE_CODES[code] then return failure.rate_limited(nil, message, code), true end
  if code and NOT_FOUND_CODES[code] then return failure.not_found(message, code), false end
  if code and INVALID_CODES[code] then return failure.invalid_number(message, code), false end
  return failure.broken("UPS error " .. (code or "?") .. ": " .. message, code), true
end

---------------------------------------------------------------------------
-- REST JSON (Track API v1)
---------------------------------------------------------------------------

local function rest_offset(v)
  local s = str(v)
  if not s then return nil end
  local sign, h, m = s:match("^([+-])(%d%d):?(%d%d)$")
  if sign then return sign .. h .. ":" .. m end
  return nil
end

local function rest_package(pkg)
  local events = {}
  for _, a in ipairs(list_of(pkg.activity)) do
    if type(a) == "table" then
      local st = tbl(a.status) or {}
      local type_code, code = str(st.type), str(st.code)
      local description = str(st.description) or ""
      local zone = rest_offset(a.gmtOffset) or ZONE_UNKNOWN
      local at = ups_time(a.date, a.time, zone)
      if at then
        local addr = tbl(tbl(a.location) and a.location.address) or {}
        events[#events + 1] = {
          occurred_at = at,
          zone = zone,
          status = status_for(type_code, code, description),
          code = code or type_code or "",
          subcode = str(st.statusCode),
          description = description,
          location = location({
            city = addr.city, state = addr.stateProvince, postal = addr.postalCode,
            country = str(addr.countryCode) or addr.country,
          }),
        }
      else
        log.warn("ups: activity without a readable date", { date = str(a.date) or "", time = str(a.time) or "" })
      end
    end
  end
  local status, delivered_at = overall(events, 1)
  local out = { status = status, events = events, delivered_at = delivered_at }
  for _, d in ipairs(list_of(pkg.deliveryDate)) do
    if type(d) == "table" then
      local t = str(d.type)
      if (t == "SDD" or t == "RDD") then
        out.estimated_delivery = ups_time(d.date, nil, "UTC") or out.estimated_delivery
      end
    end
  end
  local info = tbl(pkg.deliveryInformation)
  if info and status == "delivered" then out.signed_by = str(info.receivedBy) end
  return out
end

local function from_json(doc, codes)
  if type(doc) ~= "table" then return failure.broken("JSON body is not an object", nil) end
  local single = (#codes == 1) and codes[1] or nil
  local resp = tbl(doc.response)
  if resp and resp.errors ~= nil then
    local err = tbl(list_of(resp.errors)[1]) or {}
    local f, whole = failure_for(err.code, err.message)
    if whole or not single then return f end
    return { [single] = f }
  end
  local tr = tbl(doc.trackResponse)
  if not tr then
    if doc.error ~= nil or doc.errors ~= nil then
      return failure.broken("unexpected UPS error body: " .. short(json.encode(doc) or "?"), nil)
    end
    return failure.broken("JSON without 'trackResponse'", nil)
  end
  local requested = text.codes(codes)
  local results, count = {}, 0
  for _, shipment in ipairs(list_of(tr.shipment)) do
    if type(shipment) == "table" then
      local packages = list_of(shipment.package)
      local got_package = false
      for _, pkg in ipairs(packages) do
        if type(pkg) == "table" then
          local n = norm_code(pkg.trackingNumber) or norm_code(shipment.inquiryNumber)
          if not n and single and #packages == 1 then n = norm_code(single) end
          if n then
            local key = requested[n] or requested[norm_code(shipment.inquiryNumber) or ""] or n
            if results[key] == nil then
              results[key] = rest_package(pkg)
              count = count + 1
            end
            got_package = true
          end
        end
      end
      if not got_package then
        local w = tbl(list_of(shipment.warnings)[1])
        local key = norm_code(shipment.inquiryNumber)
        key = key and (requested[key] or key) or single
        if w then
          local f = failure_for(w.code, w.message)
          if key then results[key] = f; count = count + 1
          elseif #list_of(tr.shipment) == 1 then return f end
        end
      end
    end
  end
  if count == 0 then return failure.broken("trackResponse without any package or warning", nil) end
  return results
end

---------------------------------------------------------------------------
-- Legacy XML Track API (<TrackResponse>)
---------------------------------------------------------------------------

local function xml_package(pkg, shipment)
  local newest_first = {}
  for _, a in ipairs(pkg:children("Activity")) do
    local st = a:child("Status")
    local type_code = st and st:text("StatusType/Code")
    local description = (st and st:text("StatusType/Description")) or ""
    local code = st and st:text("StatusCode/Code")
    local at = ups_time(a:text("Date"), a:text("Time"), ZONE_UNKNOWN)
    if at then
      local addr = a:find("ActivityLocation/Address")
      newest_first[#newest_first + 1] = {
        occurred_at = at,
        zone = ZONE_UNKNOWN,
        status = status_for(type_code, code, description),
        code = type_code or "",
        subcode = code,
        description = description,
        location = addr and location({
          city = addr:text("City"), state = addr:text("StateProvinceCode"),
          postal = addr:text("PostalCode"), country = addr:text("CountryCode"),
        }) or nil,
        _signed = a:text("ActivityLocation/SignedForByName"),
      }
    end
  end
  local status, delivered_at = overall(newest_first, 1)
  local signed
  local events = {}
  for i = 1, #newest_first do
    local e = newest_first[i]
    if e.status == "delivered" and not signed then signed = str(e._signed) end
    e._signed = nil
    events[#events + 1] = e
  end
  local out = { status = status, events = events, delivered_at = delivered_at, signed_by = signed }
  local eta = pkg:text("RescheduledDeliveryDate") or shipment:text("ScheduledDeliveryDate")
    or pkg:text("ScheduledDeliveryDate")
  if eta then out.estimated_delivery = ups_time(eta, nil, "UTC") end
  return out
end

local function from_xml(root, codes)
  if root.name ~= "TrackResponse" then
    return failure.broken("XML <" .. tostring(root.name) .. "> is not a UPS TrackResponse", nil)
  end
  local single = (#codes == 1) and codes[1] or nil
  local rcode = root:text("Response/ResponseStatusCode")
  local err = root:find("Response/Error")
  if rcode ~= "1" or (err and not root:child("Shipment")) then
    if err then
      local f, whole = failure_for(err:text("ErrorCode"), err:text("ErrorDescription"))
      if whole or not single then return f end
      return { [single] = f }
    end
    return failure.broken("UPS TrackResponse with status " .. tostring(rcode) .. " and no Error", nil)
  end
  local requested = text.codes(codes)
  local results, count = {}, 0
  for _, shipment in ipairs(root:children("Shipment")) do
    local packages = shipment:children("Package")
    for _, pkg in ipairs(packages) do
      local n = norm_code(pkg:text("TrackingNumber")) or norm_code(shipment:text("ShipmentIdentificationNumber"))
      if not n and single then n = norm_code(single) end
      if n then
        local key = requested[n] or n
        if results[key] == nil then
          results[key] = xml_package(pkg, shipment)
          count = count + 1
        end
      end
    end
  end
  if count == 0 then return failure.broken("UPS TrackResponse without any Package", nil) end
  return results
end

---------------------------------------------------------------------------
-- Dispatch
---------------------------------------------------------------------------

local function error_message(body)
  local doc = json.decode(body)
  local resp = tbl(doc) and tbl(doc.response)
  local err = resp and tbl(list_of(resp.errors)[1])
  if err then
    local code, msg = str(err.code), str(err.message)
    if msg then return msg, code end
  end
  if tbl(doc) and str(doc.message) then return str(doc.message), nil end
  return nil, nil
end

local function parse_body(body, codes)
  if body:sub(1, 3) == "\239\187\191" then body = body:sub(4) end
  local first = body:match("^%s*(%S)")
  if not first then return failure.broken("empty body", nil) end
  if first == "{" or first == "[" then
    local doc, err = json.decode(body)
    if doc == nil then return failure.broken("body is not valid JSON: " .. short(tostring(err)), nil) end
    return from_json(doc, codes)
  end
  if first == "<" then
    local root, err = xml.parse(body)
    if not root then return failure.broken("body is not well-formed XML: " .. short(tostring(err)), nil) end
    return from_xml(root, codes)
  end
  return failure.broken("expected JSON or XML from UPS, body starts with '" .. short(body:match("^%s*(.*)"), 40) .. "'", nil)
end

local function parse(response, codes, ctx)
  if type(response) ~= "table" then return failure.broken("no response", nil) end
  local list = {}
  for _, c in ipairs(tbl(codes) or {}) do if type(c) == "string" then list[#list + 1] = c end end
  local f = http.triage(response, { message = error_message, refused = "UPS refused the token",
                                   expect = "JSON or XML from UPS", now = tbl(ctx) and ctx.now })
  if f then return f end
  local status = math.tointeger(tonumber(response.status)) or 0
  local body = type(response.body) == "string" and response.body or ""
  local out = parse_body(body, list)
  if status >= 200 and status < 300 then return out end
  -- 400 / 404 carry the same {"response":{"errors":[...]}} body as errors at 200.
  if out.failure == nil then return out end
  if (status == 400 or status == 404) and out.kind ~= "broken" then return out end
  local msg = error_message(body)
  return failure.broken("HTTP " .. status .. (msg and (": " .. msg) or (": " .. tostring(out.message or ""))), nil)
end

---------------------------------------------------------------------------
-- Contract functions
---------------------------------------------------------------------------

-- 1Z + 6 shipper + 2 service + 7 package + check digit. Letters count as
-- (ASCII - 63) mod 10; odd positions x1, even positions x2, check = (10 - sum mod 10) mod 10.
local function ups_check(body15)
  local sum = 0
  for i = 1, #body15 do
    local b = body15:byte(i)
    local v
    if b >= 48 and b <= 57 then v = b - 48 else v = (b - 63) % 10 end
    if i % 2 == 0 then v = v * 2 end
    sum = sum + v
  end
  return (10 - sum % 10) % 10
end

local function validate(code)
  if type(code) ~= "string" then return false, "tracking number must be text" end
  local s = code:gsub("[%s%-]+", ""):upper()
  if s:sub(1, 2) == "1Z" then
    if #s ~= 18 then return false, ("a 1Z number has 18 characters, got %d"):format(#s) end
    if not s:match("^1Z%w+$") then return false, "a 1Z number has only letters and digits" end
    local last = s:byte(18)
    if last < 48 or last > 57 then return false, "the last character of a 1Z number is a check digit" end
    local expected = ups_check(s:sub(3, 17))
    if expected ~= last - 48 then
      return false, ("check digit: expected %d, got %d"):format(expected, last - 48)
    end
    return true, "check_digit"
  end
  -- InfoNotice / freight PRO numbers: T + 10 characters (no check digit we can verify).
  if s:match("^T%w%w%w%w%w%w%w%w%w%w$") and s:sub(2):match("%d") then return true end
  return false, "expected a 1Z number (1Z + 16 characters) or an InfoNotice number (T + 10 characters)"
end

local function auth(config)
  config = tbl(config) or {}
  local id, secret = str(config.client_id), str(config.client_secret)
  if not id or not secret then
    error("ups: config.client_id and config.client_secret are required (UPS developer app credentials)", 0)
  end
  local headers = {
    ["Authorization"] = "Basic " .. base64.encode(id .. ":" .. secret),
    ["Content-Type"] = "application/x-www-form-urlencoded",
    ["Accept"] = "application/json",
  }
  local merchant = str(config.merchant_id) or str(config.account_number)
  if merchant then headers["x-merchant-id"] = merchant end
  return {
    method = "POST",
    url = http.base_url(config, DEFAULT_BASE_URL) .. "/security/v1/oauth/token",
    headers = headers,
    body = "grant_type=client_credentials",
    timeout = 30,
  }
end

local function parse_auth(response, config, ctx)
  if type(response) ~= "table" then return failure.broken("no response", nil) end
  local f = http.triage(response, { message = error_message, refused = "UPS refused the client credentials", now = tbl(ctx) and ctx.now })
  if f then return f end
  local status = math.tointeger(tonumber(response.status)) or 0
  local body = type(response.body) == "string" and response.body or ""
  local doc = json.decode(body)
  if type(doc) ~= "table" then return failure.broken("token response is not a JSON object", nil) end
  local resp = tbl(doc.response)
  if resp and resp.errors ~= nil then
    local err = tbl(list_of(resp.errors)[1]) or {}
    return failure.auth(str(err.message) or "UPS refused the client credentials", str(err.code))
  end
  if status ~= 200 then return failure.broken("token request: HTTP " .. status, nil) end
  local token = str(doc.access_token)
  if not token then return failure.broken("token response has no 'access_token'", nil) end
  local out = { token = token }
  local expires = tonumber(doc.expires_in)
  if expires and expires > 0 then out.expires_in = math.floor(expires) end
  return out
end

local function request(codes, config, ctx)
  local code = norm_code(tbl(codes) and codes[1]) or ""
  local headers = {
    ["Accept"] = "application/json",
    ["transId"] = "rastro" .. ((str(tbl(ctx) and ctx.now) or ""):gsub("%D", "")):sub(1, 26),
    ["transactionSrc"] = "rastro",
  }
  local token = str(tbl(ctx) and ctx.token)
  if token then headers["Authorization"] = "Bearer " .. token end
  return {
    method = "GET",
    url = http.base_url(config, DEFAULT_BASE_URL) .. "/api/track/v1/details/" .. url.escape(code) .. "?"
      .. url.query({ locale = "en_US", returnSignature = "false", returnMilestones = "false" }),
    headers = headers,
    timeout = 30,
  }
end

return {
  id = "ups",
  name = "UPS",
  api = 1,
  hosts = { "onlinetools.ups.com" },
  tracking_url = "https://www.ups.com/track?loc=en_US&tracknum={code}",
  limits = { concurrency = 4, per_second = 10, batch = 1 },
  validate = check.guard(validate),
  auth = auth,
  parse_auth = failure.guard(parse_auth, "ups script"),
  request = request,
  parse = failure.guard(parse, "ups script"),
}
