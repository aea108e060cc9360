-- Canpar Express (Canada).
--
-- Tracking is the CanparAddonsService SOAP web service (trackByBarcodeV2),
-- one barcode per request; it needs no credentials. Responses are SOAP 1.2
-- envelopes with trackByBarcodeResponse/return/{error, result}; recorded
-- bodies may wrap several envelopes in one root element, so every
-- trackBy*Response in the document is read.
--
-- Events are listed newest first, with local_date_time ("20110308 091442")
-- in the wall time of the scanning terminal. The terminal's province gives
-- the zone; without a province the time is kept as "UTC" (wall time as printed).

---------------------------------------------------------------------------
-- Status table: Canpar event code -> normalized status.
---------------------------------------------------------------------------
local STATUS = {
  ["DEL"] = "delivered",
  ["PIC"] = "in_transit",            -- pickup from customer/shipper: Canpar has the parcel
  ["ARR"] = "in_transit",            -- arrival at hub/terminal
  ["DEP"] = "in_transit",            -- departure from hub/terminal
  ["INO"] = "in_transit",            -- interline outbound: handed to a partner carrier for the last leg
  ["INA"] = "in_transit",            -- arrival at interline: the partner carrier received it
  ["ONB"] = "out_for_delivery",      -- on board for delivery
  ["OFD"] = "out_for_delivery",
  ["NSR"] = "attempt_failed",        -- no one available to sign: attempt made, card left
  ["CLO"] = "attempt_failed",        -- business closed at delivery time
  ["RTS"] = "returned_to_sender",
  ["RTN"] = "returned_to_sender",
  ["HLD"] = "available_for_pickup",  -- held at terminal for customer pickup
  ["DAM"] = "exception",             -- damaged
  ["MIS"] = "exception",             -- missort / misrouted
  ["ADR"] = "exception",             -- address problem: the consignee must be contacted
}
-- Unknown codes: every Canpar event is a scan of a parcel in its network.
local DEFAULT_STATUS = "in_transit"

-- Province -> the zone most of it keeps (Canpar prints terminal wall times).
local PROVINCE_ZONE = {
  BC = "America/Vancouver", AB = "America/Edmonton", SK = "America/Regina",
  MB = "America/Winnipeg", ON = "America/Toronto", QC = "America/Toronto",
  NB = "America/Moncton", NS = "America/Halifax", PE = "America/Halifax",
  NL = "America/St_Johns", YT = "America/Whitehorse", NT = "America/Yellowknife",
  NU = "America/Iqaluit",
}

local DEFAULT_BASE_URL = "https://canship.canpar.com"
local SERVICE_PATH = "/canshipws/services/CanparAddonsService"

---------------------------------------------------------------------------
-- Helpers
---------------------------------------------------------------------------

local str = text.clean        -- trimmed text; nil when empty
local tbl = value.table       -- the value when it is a table, else nil
local short = text.short      -- one line, cut at n bytes (default 120)
local norm_code = text.code   -- upper case, no whitespace; nil when empty

local function xml_escape(s)
  return (s:gsub("&", "&amp;"):gsub("<", "&lt;"):gsub(">", "&gt;"))
end

-- Text of a child, treating xsi:nil and empty elements as absent.
local function child_text(node, name)
  local c = node:child(name)
  if not c then return nil end
  if c.attr and c.attr["nil"] == "true" then return nil end
  return str(c:text())
end

local function status_for(code, warned)
  local s = code and STATUS[code]
  if s then return s end
  if code and not warned[code] then
    warned[code] = true
    log.warn("canpar: unknown event code", { code = code })
  end
  return DEFAULT_STATUS
end

local function address(node)
  if not node then return nil, nil end
  local lines = {}
  for _, n in ipairs({ "address_line_1", "address_line_2", "address_line_3" }) do
    local l = child_text(node, n)
    if l then lines[#lines + 1] = l end
  end
  local loc = {
    facility = (#lines > 0) and table.concat(lines, ", ") or nil,
    city = child_text(node, "city"),
    state = child_text(node, "province"),
    country = child_text(node, "country"),
    postal = child_text(node, "postal_code"),
  }
  if next(loc) == nil then return nil, nil end
  return loc, loc.state and PROVINCE_ZONE[loc.state:upper()]
end

local function read_result(result)
  local warned = {}
  local events = {}
  for _, ev in ipairs(result:children("events")) do
    local loc, zone = address(ev:child("address"))
    zone = zone or "UTC"
    local stamp = child_text(ev, "local_date_time")
    local at = stamp and stamp:match("^%d%d%d%d%d%d%d%d %d%d%d%d%d%d$")
      and time.parse(stamp, "%Y%m%d %H%M%S", zone) or nil
    if at then
      local code = child_text(ev, "code")
      events[#events + 1] = {
        occurred_at = at,
        zone = zone,
        status = status_for(code, warned),
        code = code or "",
        description = child_text(ev, "code_description_en") or child_text(ev, "comment") or "",
        location = loc,
      }
    else
      log.warn("canpar: event without a readable local_date_time", { value = stamp or "" })
    end
  end
  local out = { events = events }
  local delivered = child_text(result, "delivered") == "true"
  for _, e in ipairs(events) do
    if e.status == "delivered" then delivered = true; out.delivered_at = out.delivered_at or e.occurred_at end
  end
  if delivered then out.status = "delivered"
  elseif events[1] then out.status = events[1].status
  else out.status = "info_received" end    -- a known barcode without scans: label data only
  local eta = child_text(result, "estimated_delivery_date")
  if eta and eta:match("^%d%d%d%d%d%d%d%d$") then out.estimated_delivery = time.parse(eta, "%Y%m%d", "UTC") end
  if delivered then out.signed_by = child_text(result, "signed_by") end
  return out
end

local function classify_error(msg)
  local m = msg:lower()
  if m:find("not found", 1, true) or m:find("no tracking", 1, true) or m:find("no record", 1, true)
    or m:find("no shipment", 1, true) then
    return failure.not_found(msg, nil)
  end
  if m:find("invalid", 1, true) and (m:find("barcode", 1, true) or m:find("tracking", 1, true)) then
    return failure.invalid_number(msg, nil)
  end
  if m:find("password", 1, true) or m:find("unauthori", 1, true) or m:find("authenticat", 1, true) then
    return failure.auth(msg, nil)
  end
  return nil
end

local function from_xml(root, codes)
  local single = (#codes == 1) and codes[1] or nil
  local requested = text.codes(codes)
  local returns = {}
  for _, name in ipairs({ "trackByBarcodeV2Response", "trackByBarcodeResponse" }) do
    for _, r in ipairs(root:descendants(name)) do
      for _, ret in ipairs(r:children("return")) do returns[#returns + 1] = ret end
    end
  end
  if root.name == "trackByBarcodeResponse" or root.name == "trackByBarcodeV2Response" then
    for _, ret in ipairs(root:children("return")) do returns[#returns + 1] = ret end
  end
  if #returns == 0 then
    local fault = root:descendants("Fault")[1]
    if fault then
      local reason = fault:text("Reason/Text") or fault:text("faultstring") or "?"
      return failure.broken("SOAP fault: " .. short(reason), nil)
    end
    return failure.broken("XML <" .. tostring(root.name) .. "> is not a Canpar trackByBarcode response", nil)
  end
  local results, count, first_error = {}, 0, nil
  for _, ret in ipairs(returns) do
    local err = child_text(ret, "error")
    local got = false
    for _, result in ipairs(ret:children("result")) do
      if tbl(result.attr) and result.attr["nil"] == "true" then goto continue end
      local n = norm_code(child_text(result, "barcode"))
      if not n and single then n = norm_code(single) end
      if n then
        local key = requested[n] or n
        if results[key] == nil then
          results[key] = read_result(result)
          count = count + 1
        end
        got = true
      end
      ::continue::
    end
    if err and not got then first_error = first_error or err end
  end
  if count > 0 then return results end
  if first_error then
    local f = classify_error(first_error)
    if not f then return failure.broken("Canpar error: " .. short(first_error), nil) end
    if single and f.failure ~= "auth" then return { [single] = f } end
    return f
  end
  -- An answer without error and without results: Canpar knows nothing of the barcode.
  if single then return { [single] = failure.not_found("Canpar returned no result for this barcode", nil) } end
  return failure.not_found("Canpar returned no result", nil)
end

local function parse_body(body, codes)
  if body:sub(1, 3) == "\239\187\191" then body = body:sub(4) end
  local first = body:match("^%s*(%S)")
  if not first then return failure.broken("empty body", nil) end
  if first ~= "<" then
    return failure.broken("expected SOAP XML from Canpar, body starts with '" .. short(body:match("^%s*(.*)"), 40) .. "'", nil)
  end
  local root, err = xml.parse(body)
  if not root then return failure.broken("body is not well-formed XML: " .. short(tostring(err)), nil) end
  return from_xml(root, codes)
end

local function parse(response, codes, ctx)
  if type(response) ~= "table" then return failure.broken("no response", nil) end
  local list = {}
  for _, c in ipairs(tbl(codes) or {}) do if type(c) == "string" then list[#list + 1] = c end end
  local status = math.tointeger(tonumber(response.status)) or 0
  local body = type(response.body) == "string" and response.body or ""
  local f = http.triage(response, { refused = "Canpar refused the request", expect = "SOAP XML from Canpar", now = tbl(ctx) and ctx.now })
  if f and f.failure == "temporary" then
    -- SOAP faults come back as HTTP 500: a fault in a well-formed envelope is the server's answer.
    local out = parse_body(body, list)
    if out.failure == nil then return out end
    if out.message and out.message:find("SOAP fault", 1, true) then f.message = f.message .. ": " .. out.message end
  end
  if f then return f end
  local out = parse_body(body, list)
  if status >= 200 and status < 300 then return out end
  if out.failure == nil then return out end
  return failure.broken("HTTP " .. status .. ": " .. tostring(out.message or ""), nil)
end

---------------------------------------------------------------------------
-- Contract functions
---------------------------------------------------------------------------

-- Canpar barcodes: "D" + 21 digits (account, manifest and piece numbers).
-- Canpar publishes no check-digit rule, so this is a format match only.
local function validate(code)
  if type(code) ~= "string" then return false, "tracking number must be text" end
  local s = code:gsub("%s+", ""):upper()
  if #s ~= 22 then return false, ("expected 22 characters (D + 21 digits), got %d"):format(#s) end
  if s:sub(1, 1) ~= "D" then return false, "a Canpar barcode starts with D" end
  if not s:match("^D%d+$") then return false, "characters 2 to 22 must be digits" end
  return true
end

local function request(codes, config, ctx)
  local code = norm_code(tbl(codes) and codes[1]) or ""
  local body = table.concat({
    '<?xml version="1.0" encoding="UTF-8"?>',
    '<soap:Envelope xmlns:soap="http://www.w3.org/2003/05/soap-envelope"',
    ' xmlns:ws="http://ws.canparaddons.canpar.com" xmlns:xsd="http://ws.dto.canshipws.canpar.com/xsd">',
    '<soap:Header/><soap:Body><ws:trackByBarcodeV2><ws:request>',
    '<xsd:barcode>', xml_escape(code), '</xsd:barcode>',
    '<xsd:filter></xsd:filter>',
    '<xsd:track_shipment>true</xsd:track_shipment>',
    '</ws:request></ws:trackByBarcodeV2></soap:Body></soap:Envelope>',
  })
  return {
    method = "POST",
    url = http.base_url(config, DEFAULT_BASE_URL) .. SERVICE_PATH,
    headers = {
      ["Content-Type"] = 'application/soap+xml; charset=utf-8; action="urn:trackByBarcodeV2"',
      ["Accept"] = "application/soap+xml, text/xml",
    },
    body = body,
    timeout = 30,
  }
end

return {
  id = "canpar",
  name = "Canpar Express",
  api = 1,
  hosts = { "canship.canpar.com" },
  tracking_url = "https://www.canpar.com/en/tracking/delivery_options.htm?barcode={code}",
  limits = { concurrency = 2, per_second = 5, batch = 1 },
  validate = check.guard(validate),
  request = request,
  parse = failure.guard(parse, "canpar script"),
}
