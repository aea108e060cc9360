-- Purolator (Canada).
--
-- Purolator E-Ship Web Services, TrackingService v1 (SOAP 1.1):
-- POST https://webservices.purolator.com/EWS/V1/Tracking/TrackingService.asmx
-- SOAPAction http://purolator.com/pws/service/v1/TrackPackagesByPin, HTTP Basic
-- auth with the activation key and password (config.api_key, config.password),
-- a RequestContext header (Version 1.2, Language, GroupID, RequestReference,
-- optional UserToken = config.user_token). Several PINs per request.
--
-- Scans carry ScanDate (YYYY-MM-DD) and ScanTime (HHMMSS) in the depot's local
-- time with no zone (Canada spans six zones): read and shown as "UTC" so the
-- local time equals the printed one.

local DEFAULT_BASE_URL = "https://webservices.purolator.com"
local ZONE = "UTC"
local NS = "http://purolator.com/pws/datatypes/v1"

---------------------------------------------------------------------------
-- Status table: Purolator ScanType -> normalized status.
---------------------------------------------------------------------------
local STATUS = {
  ["ProofOfPickUp"] = "in_transit",     -- picked up from the shipper
  ["Other"] = "in_transit",             -- generic movement scan (sorted, in transit, new PIN assigned...);
                                        -- refined by the description below when it says more
  ["OnDelivery"] = "out_for_delivery",  -- on the delivery vehicle
  ["Delivery"] = "delivered",
  ["Undeliverable"] = "attempt_failed", -- delivery attempted and not completed (closed, no access...):
                                        -- Purolator re-attempts or holds it; not final
  ["Undefined"] = "in_transit",         -- Purolator's own "no type": a scan still happened
}
local DEFAULT_STATUS = "in_transit"

-- "Other" scans whose description says more than the type (lowercase substring -> status).
local DESCRIPTION_HINTS = {
  { "out for delivery", "out_for_delivery" },
  { "on vehicle for delivery", "out_for_delivery" },
  { "ready for pickup", "available_for_pickup" },
  { "available for pickup", "available_for_pickup" },
  { "return to sender", "returned_to_sender" },
  { "returned to sender", "returned_to_sender" },
  { "shipment created", "info_received" },
  { "label created", "info_received" },
}

---------------------------------------------------------------------------
-- helpers
---------------------------------------------------------------------------
local str = text.clean        -- trimmed text; nil when empty
local short = text.short      -- one line, cut at n bytes

local function xml_escape(s)
  return (tostring(s):gsub("[&<>\"']", { ["&"] = "&amp;", ["<"] = "&lt;", [">"] = "&gt;", ['"'] = "&quot;", ["'"] = "&apos;" }))
end

local function child_text(node, name)
  local t = node and node:text(name)
  if t and t ~= "" then return t end
  return nil
end

---------------------------------------------------------------------------
-- validate: Purolator PINs are 12 digits, or 3 letters + 9 digits.
-- Purolator publishes no check-digit rule: format only.
---------------------------------------------------------------------------
local function validate(code)
  local c = (type(code) == "string" and code or ""):gsub("[%s%-]+", ""):upper()
  if c == "" then return false, "empty" end
  if c:match("[^%w]") then return false, "only letters and digits are allowed" end
  if c:match("^%d%d%d%d%d%d%d%d%d%d%d%d$") then return true end
  if c:match("^%u%u%u%d%d%d%d%d%d%d%d%d$") then return true end
  return false, ("format: expected 12 digits or 3 letters + 9 digits, got %d characters"):format(#c)
end

---------------------------------------------------------------------------
-- parse
---------------------------------------------------------------------------
local function scan_status(scan_type, description, warned)
  local s = STATUS[scan_type]
  if not s then
    if not warned[scan_type] then
      warned[scan_type] = true
      log.warn("purolator: unknown ScanType, treated as " .. DEFAULT_STATUS, { scan_type = scan_type })
    end
    s = DEFAULT_STATUS
  end
  if s == "in_transit" then
    local d = (description or ""):lower()
    for _, h in ipairs(DESCRIPTION_HINTS) do
      if d:find(h[1], 1, true) then return h[2] end
    end
  end
  return s
end

local function read_scan(scan, i, warned)
  local scan_type = child_text(scan, "ScanType") or ""
  local date, clock = child_text(scan, "ScanDate"), child_text(scan, "ScanTime")
  local at = nil
  if date then
    if clock and clock:match("^%d%d%d%d%d%d$") then
      at = time.parse(date .. " " .. clock, "%Y-%m-%d %H%M%S", ZONE)
    elseif clock and clock:match("^%d%d:%d%d") then
      at = time.parse(date .. "T" .. clock, "iso", ZONE)
    else
      at = time.parse(date, "%Y-%m-%d", ZONE)
    end
  end
  if not at then
    return nil, ("Scan %d (%s): cannot read ScanDate/ScanTime %s %s"):format(i, scan_type, short(date or "?", 20), short(clock or "?", 20))
  end
  local description = child_text(scan, "Description") or scan_type
  local depot = child_text(scan, "Depot/Name")
  local location = nil
  if depot then
    location = { facility = depot }
    local province = depot:match(",%s*(%u%u)$")
    if province then location.state = province end
  end
  return {
    occurred_at = at, zone = ZONE,
    status = scan_status(scan_type, description, warned),
    code = scan_type, description = description,
    location = location,
  }
end

local function first_error(info)
  -- ResponseInformation/Errors/Error {Code, Description, AdditionalInformation}
  local ri = info and info:child("ResponseInformation")
  local errors = ri and ri:child("Errors")
  local err = errors and errors:child("Error")
  if not err then return nil end
  return child_text(err, "Code"), child_text(err, "Description") or child_text(err, "AdditionalInformation") or "Purolator error"
end

local function error_failure(code, message)
  local lower = message:lower()
  if lower:find("not found") or lower:find("no tracking") or lower:find("no information")
      or lower:find("does not exist") then
    return failure.not_found(message, code)
  end
  if lower:find("invalid") and (lower:find("pin") or lower:find("tracking")) then
    return failure.invalid_number(message, code)
  end
  if lower:find("authenticat") or lower:find("authoriz") or lower:find("credential") or lower:find("key") then
    return failure.auth(message, code)
  end
  return failure.broken(message, code)
end

local function tracking_result(info)
  local code, message = first_error(info)
  local warned, events = {}, {}
  local scans = info:child("Scans")
  for i, scan in ipairs(scans and scans:children("Scan") or {}) do
    local ev, err = read_scan(scan, i, warned)
    if not ev then return failure.broken(err) end
    events[#events + 1] = ev
  end
  if #events == 0 and message then return error_failure(code, message) end
  if #events == 0 then return failure.not_found("no scans for this PIN") end
  local result = { events = events, status = events[1].status }
  if result.status == "delivered" then result.delivered_at = events[1].occurred_at end
  local eta = child_text(info, "EstimatedDeliveryDate")
  if eta and eta:match("^%d%d%d%d%-%d%d%-%d%d") then result.estimated_delivery = time.parse(eta:sub(1, 10), "%Y-%m-%d", "UTC") end
  return result
end

local function parse(response, codes, ctx)
  local status = tonumber(response.status) or 0
  local body = response.body or ""
  local doc, xerr = nil, nil
  if body:match("^%s*<") then doc, xerr = xml.parse(body) end

  if doc then
    local soap_body = doc:child("Body")
    local fault = soap_body and soap_body:child("Fault")
    if fault then
      local fcode = child_text(fault, "faultcode") or child_text(fault, "Code/Value")
      local fmsg = child_text(fault, "faultstring") or child_text(fault, "Reason/Text") or "SOAP fault"
      local lower = fmsg:lower()
      if status == 401 or status == 403 or lower:find("authenticat") or lower:find("authoriz") then
        return failure.auth(fmsg, fcode)
      end
      if status >= 500 and not (fcode or ""):lower():find("client") then return failure.temporary(fmsg, fcode) end
      return failure.broken(fmsg, fcode)
    end
    local resp = soap_body and soap_body:child("TrackPackagesByPinResponse")
    if resp then
      local list = resp:child("TrackingInformationList")
      local infos = list and list:children("TrackingInformation") or {}
      local results, n = {}, 0
      for _, info in ipairs(infos) do
        local pin = child_text(info, "PIN/Value")
        if pin then
          local ok, r = pcall(tracking_result, info)
          results[pin] = ok and r or failure.broken("unreadable TrackingInformation: " .. short(r, 80))
          n = n + 1
        end
      end
      if n > 0 then return results end
      local code, message = first_error(resp)
      if message then
        local f = error_failure(code, message)
        if #(codes or {}) == 1 and (message:lower():find("not found") or message:lower():find("invalid")) then
          local per = {}
          per[codes[1]] = f
          return per
        end
        return f
      end
      if #(codes or {}) > 0 then
        local per = {}
        for _, c in ipairs(codes) do per[c] = failure.not_found("no TrackingInformation for this PIN") end
        return per
      end
      return failure.broken("TrackPackagesByPinResponse without TrackingInformation or Errors")
    end
  end

  local f = http.triage(response, { status_code = true, now = value.table(ctx) and ctx.now })
  if f then return f end
  if status >= 300 and status < 400 then return failure.broken(("HTTP %d redirect"):format(status)) end
  if xerr and body:match("^%s*<%?xml") or xerr and body:match("^%s*<%w*:?Envelope") then
    return failure.broken("body is not valid XML: " .. tostring(xerr))
  end
  if doc then return failure.broken("XML without a SOAP Body/TrackPackagesByPinResponse or Fault") end
  return failure.broken(("expected a SOAP TrackPackagesByPinResponse, got %s"):format(short(body, 60)))
end

local function request(codes, config, ctx)
  local pins = {}
  for _, c in ipairs(codes) do
    pins[#pins + 1] = "<PIN><Value>" .. xml_escape((c:gsub("[%s%-]+", ""):upper())) .. "</Value></PIN>"
  end
  local token = str(config and config.user_token)
  local envelope = table.concat({
    '<?xml version="1.0" encoding="utf-8"?>',
    '<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/" xmlns:v1="', NS, '">',
    "<soap:Header><v1:RequestContext>",
    "<v1:Version>1.2</v1:Version>",
    "<v1:Language>", xml_escape(str(config and config.language) or "en"), "</v1:Language>",
    "<v1:GroupID></v1:GroupID>",
    "<v1:RequestReference>rastro</v1:RequestReference>",
    token and ("<v1:UserToken>" .. xml_escape(token) .. "</v1:UserToken>") or "",
    "</v1:RequestContext></soap:Header>",
    "<soap:Body><TrackPackagesByPinRequest xmlns=\"", NS, "\"><PINs>",
    table.concat(pins),
    "</PINs></TrackPackagesByPinRequest></soap:Body></soap:Envelope>",
  })
  local key, password = str(config and config.api_key) or "", str(config and config.password) or ""
  return {
    method = "POST",
    url = http.base_url(config, DEFAULT_BASE_URL) .. "/EWS/V1/Tracking/TrackingService.asmx",
    headers = {
      ["Content-Type"] = "text/xml; charset=utf-8",
      SOAPAction = '"http://purolator.com/pws/service/v1/TrackPackagesByPin"',
      Authorization = "Basic " .. base64.encode(key .. ":" .. password),
    },
    body = envelope,
    timeout = 30,
  }
end

return {
  id = "purolator",
  name = "Purolator",
  api = 1,
  hosts = { "webservices.purolator.com" },
  tracking_url = "https://www.purolator.com/en/shipping/tracker?pin={code}",
  limits = { concurrency = 2, per_second = 5, batch = 20 },

  validate = validate,
  request = request,

  parse = failure.guard(parse, "purolator script"),
}
