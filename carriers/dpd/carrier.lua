-- DPD (DPD Group web services, "DPD Web Connect"): ParcelLifeCycleService 2.0 (SOAP).
--
-- auth: LoginService 2.0 getAuth(delisId, password, messageLanguage) → authToken
--       (valid until authTokenExpires, about a day).
-- request: ParcelLifeCycleService getTrackingData(parcelLabelNumber), one parcel per call,
--       with the token in the SOAP header <authentication>.
-- statusInfo entries come oldest first; we list them newest first. Dates are
-- "M/D/YYYY h:mm:ss AM|PM" without a zone: kept as printed (UTC).

local ZONE = "UTC"
local DEFAULT_BASE = "https://public-ws.dpd.com/services"
local NS_AUTH = "http://dpd.com/common/service/types/Authentication/2.0"
local NS_LOGIN = "http://dpd.com/common/service/types/LoginService/2.0"
local NS_PLC = "http://dpd.com/common/service/types/ParcelLifeCycleService/2.0"

---------------------------------------------------------------------------
-- Status table: statusInfo/status.
---------------------------------------------------------------------------
local STATUS = {
  ["ACCEPTED"] = "info_received",        -- order data received, parcel not yet handed over
  ["PickedUp"] = "in_transit",           -- DPD has received your parcel (first physical scan)
  ["AtSendingDepot"] = "in_transit",
  ["BetweenDepots"] = "in_transit",      -- at the parcel dispatch centre
  ["OnTheRoad"] = "in_transit",
  ["AtDeliveryDepot"] = "in_transit",
  ["Depot"] = "in_transit",              -- at the parcel delivery centre (not yet on the van)
  ["Courier"] = "out_for_delivery",      -- left the delivery centre, on its way to the consignee
  ["DeliveryFailure"] = "attempt_failed",
  -- Back at the depot after an unsuccessful attempt: the attempt failed and the
  -- parcel waits for the next one (karrio calls this out_for_delivery).
  ["ReturningFromDelivery"] = "attempt_failed",
  -- Dropped at a Pickup parcelshop for the consignee to collect.
  ["ParcelShop"] = "available_for_pickup",
  ["PickupByConsignee"] = "delivered",   -- collected by the consignee at the parcelshop
  ["Delivered"] = "delivered",
  ["ReturnToSender"] = "returned_to_sender",
  ["Returned"] = "returned_to_sender",
}

local str = text.clean        -- trimmed text; nil when empty
local tbl = value.table       -- the value when it is a table, else nil
local short = text.short      -- one line, cut at n bytes (default 120)
local norm_code = text.code   -- upper case, no whitespace; nil when empty

-- DPD wraps texts as <x><content>text</content><bold/>..</x>, descriptions
-- once more (<description><content><content>text</content>...).
local function content(node)
  if not node then return nil end
  local parts = {}
  local function walk(n)
    local inner = n:children("content")
    if #inner == 0 then
      local t = str(n.value)
      if t then parts[#parts + 1] = t end
      return
    end
    for _, c in ipairs(inner) do walk(c) end
  end
  walk(node)
  if #parts == 0 then return nil end
  return (table.concat(parts, " "):gsub("%s+", " "))
end

local function when(text)
  text = str(text)
  if not text then return nil end
  local at = time.parse(text, "%m/%d/%Y %I:%M:%S %p", ZONE)
  if not at then at = time.parse(text, "iso", ZONE) end
  return at
end

-- "Mechelen (BE)" → city Mechelen, country BE
local function place(text)
  text = str(text)
  if not text then return nil end
  local city, cc = text:match("^(.-)%s*%((%u%u)%)$")
  if city and city ~= "" then return { facility = text, city = city, country = cc } end
  return { facility = text }
end

local function trackingresult(tr)
  local events = {}
  for _, si in ipairs(tr:children("statusInfo")) do
    local reached = str(si:text("statusHasBeenReached"))
    local at = when(content(si:child("date")))
    if reached ~= "false" and at then
      local code = str(si:text("status")) or ""
      local status = STATUS[code]
      if not status then
        if code ~= "" then log.warn("dpd: unknown status", { status = code }) end
        status = "in_transit"
      end
      table.insert(events, 1, {
        occurred_at = at, zone = ZONE, code = code, status = status,
        description = content(si:child("description")) or content(si:child("label")) or code,
        location = place(content(si:child("location"))),
      })
    elseif reached ~= "false" and si:child("date") then
      return nil, "statusInfo with an unreadable date '" .. short(content(si:child("date")), 40) .. "'"
    end
  end
  local out = { events = events, status = (#events > 0 and events[1].status) or "info_received" }
  if out.status == "delivered" then out.delivered_at = events[1].occurred_at end
  return out
end

local function fault(root)
  local f = root:find("Body/Fault")
  if not f then return nil end
  local code, msg
  local authfault = f:find("detail/authenticationFault")
  for _, name in ipairs({ "authenticationFault", "faultCodeType", "fault" }) do
    local d = f:find("detail/" .. name)
    if d then code, msg = str(d:text("errorCode")), str(d:text("errorMessage")); break end
  end
  if not code then
    local d = f:find("detail/*")
    if d then code, msg = str(d:text("errorCode")), str(d:text("errorMessage")) end
  end
  msg = msg or str(f:text("faultstring")) or "SOAP fault"
  -- authenticationFault (DELICOM_ERR_AUTHENTICATION, LOGIN_5/LOGIN_8 expired token...)
  if authfault or (code and (code:find("AUTH", 1, true) or code:find("^LOGIN"))) then return failure.auth(msg, code) end
  if code and (code:find("NOT_FOUND", 1, true) or code:find("NO_DATA", 1, true)) then return failure.not_found(msg, code) end
  if code and code:find("PARCELLABELNUMBER", 1, true) then return failure.invalid_number(msg, code) end
  return failure.broken("DPD fault " .. (code or "?") .. ": " .. msg, code)
end

local function parse_xml(root, codes)
  local f = fault(root)
  if f then return f end
  local resp = root:find("Body/getTrackingDataResponse")
  if not resp then
    return failure.broken("XML <" .. tostring(root.name) .. "> has no getTrackingDataResponse", nil)
  end
  local list = tbl(codes) or {}
  local key = (#list >= 1 and type(list[1]) == "string" and list[1]) or nil
  local tr = resp:child("trackingresult")
  if not tr or (#tr:children("statusInfo") == 0) then
    local fm = failure.not_found("DPD has no tracking data for this parcel", nil)
    if key then return { [key] = fm } end
    return fm
  end
  local r, why = trackingresult(tr)
  if not r then return failure.broken(why, nil) end
  -- The response does not repeat the parcel number; it answers the one we asked for.
  if not key then
    local n = tr:find("shipmentInfo/parcelLabelNumber") or tr:find("shipmentInfo/trackingNumber")
    key = n and str(n:text()) or nil
  end
  if not key then return failure.broken("getTrackingDataResponse for an unknown parcel (no code asked)", nil) end
  return { [key] = r }
end

local function parse(response, codes, ctx)
  if type(response) ~= "table" then return failure.broken("no response", nil) end
  local status = math.tointeger(tonumber(response.status)) or 0
  local body = type(response.body) == "string" and response.body or ""
  -- SOAP faults come with HTTP 500: a body with a Fault is read, not triaged.
  if not (status >= 500 and body:find("Fault", 1, true)) then
    local f = http.triage(response, { refused = "DPD refused the token", wait = 60, expect = "SOAP XML from DPD", now = tbl(ctx) and ctx.now })
    if f then return f end
  end
  if body:sub(1, 3) == "\239\187\191" then body = body:sub(4) end
  if not body:match("^%s*<") then return failure.broken("expected SOAP XML from DPD, body starts with '" .. short(body, 40) .. "'", nil) end
  local root, err = xml.parse(body)
  if not root then
    if status >= 500 then return failure.temporary("HTTP " .. status, nil) end
    return failure.broken("body is not well-formed XML: " .. short(err), nil)
  end
  -- SOAP faults come with HTTP 500: read them before treating 5xx as temporary.
  local out = parse_xml(root, codes)
  if status >= 500 and out.failure == "broken" then return failure.temporary("HTTP " .. status .. ": " .. tostring(out.message), nil) end
  return out
end

---------------------------------------------------------------------------
-- Contract functions
---------------------------------------------------------------------------

-- DPD parcel label numbers: 14 digits (4-digit depot + 10-digit serial),
-- optionally followed by the MOD 37,36 check character.
local function validate(code)
  if type(code) ~= "string" then return false, "tracking number must be text" end
  local s = code:gsub("%s+", ""):upper()
  if not s:match("^%d%d%d%d%d%d%d%d%d%d%d%d%d%d") then
    return false, "a DPD parcel number starts with 14 digits (e.g. 05308801410058)"
  end
  if #s == 14 then return true end
  if #s ~= 15 then return false, ("expected 14 digits or 14 digits + check character, got %d characters"):format(#s) end
  return check.verdict(check.mod37_36(s:sub(1, 14)), s:sub(15, 15), "check character")
end

local function esc(s)
  return (tostring(s):gsub("&", "&amp;"):gsub("<", "&lt;"):gsub(">", "&gt;"))
end

local function envelope(header, body)
  return '<?xml version="1.0" encoding="UTF-8"?>'
    .. '<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/">'
    .. "<soapenv:Header>" .. header .. "</soapenv:Header><soapenv:Body>" .. body .. "</soapenv:Body></soapenv:Envelope>"
end

local function creds(config)
  config = tbl(config) or {}
  local delis, password = str(config.delis_id), str(config.password)
  if not delis or not password then
    error("dpd: config.delis_id and config.password are required (DPD Web Connect credentials)", 0)
  end
  return delis, password, str(config.language) or "en_EN"
end

local function auth(config, ctx)
  local delis, password, lang = creds(config)
  return {
    method = "POST",
    url = http.base_url(config, DEFAULT_BASE) .. "/LoginService/V2_0/",
    headers = { ["Content-Type"] = "text/xml; charset=utf-8", ["SOAPAction"] = '"http://dpd.com/common/service/LoginService/2.0/getAuth"' },
    body = envelope("", '<ns:getAuth xmlns:ns="' .. NS_LOGIN .. '"><delisId>' .. esc(delis) .. "</delisId><password>"
      .. esc(password) .. "</password><messageLanguage>" .. esc(lang) .. "</messageLanguage></ns:getAuth>"),
    timeout = 30,
  }
end

local function parse_auth(response, config, ctx)
  if type(response) ~= "table" then return failure.broken("no response", nil) end
  local status = math.tointeger(tonumber(response.status)) or 0
  local body = type(response.body) == "string" and response.body or ""
  if status == 429 then
    return failure.rate_limited(http.retry_after(response.headers, tbl(ctx) and ctx.now) or 60, "HTTP 429: too many requests", nil)
  end
  local root = xml.parse(body)
  if not root then
    if status >= 500 then return failure.temporary("HTTP " .. status, nil) end
    return failure.broken("login answer is not XML (HTTP " .. status .. ")", nil)
  end
  local f = fault(root)
  if f then return f end
  local ret = root:find("Body/getAuthResponse/return")
  local token = ret and str(ret:text("authToken"))
  if not token then return failure.broken("login answer without authToken", nil) end
  local out = { token = token }
  local exp = str(ret:text("authTokenExpires"))
  if exp then out.expires_at = time.parse(exp, "iso", "Europe/Berlin") end
  if not out.expires_at then out.expires_in = 12 * 3600 end
  return out
end

local function request(codes, config, ctx)
  local delis, _, lang = creds(config)
  local code = norm_code(tbl(codes) and codes[1]) or ""
  if #code == 15 then code = code:sub(1, 14) end  -- the API wants the number without its check character
  local token = str(tbl(ctx) and ctx.token) or ""
  local header = '<ns:authentication xmlns:ns="' .. NS_AUTH .. '"><delisId>' .. esc(delis) .. "</delisId><authToken>"
    .. esc(token) .. "</authToken><messageLanguage>" .. esc(lang) .. "</messageLanguage></ns:authentication>"
  return {
    method = "POST",
    url = http.base_url(config, DEFAULT_BASE) .. "/ParcelLifeCycleService/V2_0/",
    headers = { ["Content-Type"] = "text/xml; charset=utf-8", ["SOAPAction"] = '"http://dpd.com/common/service/ParcelLifeCycleService/2.0/getTrackingData"' },
    body = envelope(header, '<ns1:getTrackingData xmlns:ns1="' .. NS_PLC .. '"><parcelLabelNumber>' .. esc(code) .. "</parcelLabelNumber></ns1:getTrackingData>"),
    timeout = 30,
  }
end

return {
  id = "dpd",
  name = "DPD",
  api = 1,
  hosts = { "public-ws.dpd.com" },
  tracking_url = "https://tracking.dpd.de/status/en_US/parcel/{code}",
  limits = { concurrency = 2, per_second = 5, batch = 1 },
  validate = check.guard(validate),
  auth = auth,
  parse_auth = failure.guard(parse_auth, "dpd parse_auth"),
  request = request,
  parse = failure.guard(parse, "dpd parse"),
}
