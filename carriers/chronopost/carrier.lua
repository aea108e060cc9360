-- Chronopost (France).
--
-- Tracking web service "TrackingServiceWS" (SOAP, no credentials):
--   POST https://ws.chronopost.fr/tracking-cxf/TrackingServiceWS
--   operation trackSkybillV2(language, skybillNumber): one skybill per call.
-- The answer is trackSkybillV2Response/return with errorCode (0 = OK) and
-- listEventInfoComp/events[] listed oldest first, each with an ISO
-- eventDate carrying the French offset, code, eventLabel, officeLabel,
-- zipCode and NPC (département). Chronopost works in French time.

local ZONE = "Europe/Paris"
local DEFAULT_BASE = "https://ws.chronopost.fr"
local SERVICE_PATH = "/tracking-cxf/TrackingServiceWS"

---------------------------------------------------------------------------
-- Status table: Chronopost event code -> normalized status.
---------------------------------------------------------------------------
local STATUS = {
  -- DC "Shipment in preparation to be shipped" / "Envoi en cours de préparation":
  -- a label was created (often through Web Services); Chronopost does not hold it yet.
  ["DC"] = "info_received",
  ["DB"] = "in_transit",           -- Shipment handed over by shipper (physical acceptance)
  ["DY"] = "in_transit",           -- Parcel registered by the post office (dropped at a post office)
  ["PC"] = "in_transit",           -- Pris en charge (collected)
  ["SC"] = "in_transit",           -- Sorted at departure location
  ["TS"] = "in_transit",           -- Shipment in transit
  ["SD"] = "in_transit",           -- Sorted at delivery location (not yet on the round)
  ["TA"] = "out_for_delivery",     -- Shipment in delivery to the consignee
  ["TO"] = "out_for_delivery",     -- En cours de livraison (older label)
  ["D"] = "delivered",             -- Delivered
  ["D1"] = "delivered",            -- Livré (variant: to the consignee in person)
  ["D2"] = "delivered",            -- Livré (variant: to a neighbour / reception)
  ["D4"] = "delivered",            -- Livré (variant: in a relay point after collection)
  ["B"] = "delivered",             -- Livré, avec réserves (delivered, reservations noted)
  -- Relay / agency: the consignee has to collect the parcel.
  ["IA"] = "available_for_pickup", -- Instance agence: waiting at a Chronopost agency
  ["PR"] = "available_for_pickup", -- Mis à disposition au relais Pickup
  ["AR"] = "available_for_pickup", -- Arrived at the relay point, available for collection
  -- Failed deliveries: an avis de passage was left.
  ["AA"] = "attempt_failed",       -- Absent: avis de passage déposé
  ["AB"] = "attempt_failed",       -- Adresse incomplète / erronée
  ["IR"] = "exception",            -- Incident: shipment held / problem under review
  ["RE"] = "exception",            -- Retour expéditeur en cours (return leg starts; not final)
  ["RB"] = "returned_to_sender",   -- Retour expéditeur: delivered back to the shipper (final)
}
-- Unknown codes: every Chronopost event is a scan of a parcel it holds, so
-- in_transit is the honest default (logged so the table can grow).
local DEFAULT_STATUS = "in_transit"

---------------------------------------------------------------------------
-- Helpers
---------------------------------------------------------------------------
local trim = text.clean       -- trimmed text; nil when empty
local short = text.short      -- one line, cut at n bytes (default 120)

local function xml_escape(s)
  return (tostring(s):gsub("&", "&amp;"):gsub("<", "&lt;"):gsub(">", "&gt;"))
end

local function validate(code)
  if type(code) ~= "string" then return false, "not a string" end
  local c = code:upper():gsub("%s+", "")
  -- International / La Poste style: 2 letters, 8 digits + check digit, 2 letters.
  local serial, digit = c:match("^%u%u(%d%d%d%d%d%d%d%d)(%d)%u%u$")
  if serial then
    return check.verdict(check.s10(serial), tonumber(digit))
  end
  -- Domestic skybill (LT) numbers: 13 or 14 digits; no public check digit.
  if c:match("^%d+$") then
    if #c == 13 or #c == 14 then return true end
    return false, "length: a Chronopost skybill number has 13 or 14 digits"
  end
  -- Chronopost 2 letters + 9 digits + 2 letters numbers that are not S10 (e.g. XY...FR) are covered above.
  return false, "format: expected 13-14 digits or 2 letters + 9 digits + 2 letters"
end

local function request(codes, config, ctx)
  local lang = (config and trim(config.language)) or "en_GB"
  local body = '<?xml version="1.0" encoding="UTF-8"?>'
    .. '<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" '
    .. 'xmlns:cxf="http://cxf.tracking.soap.chronopost.fr/">'
    .. '<soapenv:Header/><soapenv:Body><cxf:trackSkybillV2>'
    .. '<language>' .. xml_escape(lang) .. '</language>'
    .. '<skybillNumber>' .. xml_escape(codes[1] or "") .. '</skybillNumber>'
    .. '</cxf:trackSkybillV2></soapenv:Body></soapenv:Envelope>'
  return {
    method = "POST",
    url = http.base_url(config, DEFAULT_BASE) .. SERVICE_PATH,
    headers = { ["Content-Type"] = "text/xml; charset=utf-8", Accept = "text/xml", SOAPAction = "" },
    body = body,
    timeout = 30,
  }
end

local function parse_event(ev)
  local code = ev:text("code") or ""
  local when = ev:text("eventDate")
  if not when then return nil, "event without eventDate" end
  local at = time.parse(when, "iso", ZONE)
  if not at then return nil, "unreadable eventDate '" .. short(when, 40) .. "'" end
  local status = STATUS[code]
  if not status then
    log.warn("unknown Chronopost event code", { code = code })
    status = DEFAULT_STATUS
  end
  local loc = {}
  local office = ev:text("officeLabel")
  if office then loc.facility = office end
  local zip = ev:text("zipCode")
  if zip then loc.postal = zip end
  local event = {
    occurred_at = at,
    zone = ZONE,
    status = status,
    code = code,
    description = ev:text("eventLabel") or "",
  }
  if next(loc) then event.location = loc end
  -- The delivered event carries the consignee's name in infoCompList.
  local signed
  for _, info in ipairs(ev:children("infoCompList")) do
    local name = (info:text("name") or ""):lower()
    if name:find("consignee") or name:find("destinataire") then signed = info:text("value") end
  end
  return event, nil, signed
end

local function parse(response, codes, ctx)
  local body = response.body or ""
  local doc = xml.parse(body)
  if not doc then
    local f = http.triage(response)
    if f then return f end
    return failure.broken("expected Chronopost SOAP XML, got: " .. short(body, 80))
  end
  local fault = doc:find("Body/Fault")
  if fault then
    local f = http.triage(response)
    if f then return f end
    return failure.broken("SOAP fault: " .. short(fault:text("faultstring") or "", 200))
  end
  local ret = doc:find("Body/trackSkybillV2Response/return") or doc:find("Body/trackSkybillResponse/return")
  if not ret then
    local f = http.triage(response)
    if f then return f end
    return failure.broken("expected trackSkybillV2Response/return, got <" .. tostring(doc.name) .. ">")
  end
  local err = ret:text("errorCode")
  local msg = ret:text("errorMessage")
  if err and err ~= "0" then
    local m = msg or ("Chronopost error " .. err)
    -- 1 = System Error on Chronopost's side: try again later.
    if err == "1" then return failure.temporary(m, err) end
    -- 2/3: the skybill number or a parameter was refused.
    if err == "2" or err == "3" then
      local code = codes[1]
      if code then return { [code] = failure.invalid_number(m, err) } end
      return failure.invalid_number(m, err)
    end
    return failure.broken("Chronopost errorCode " .. short(err, 20) .. ": " .. short(m, 200), err)
  end
  if not err then
    return failure.broken("trackSkybillV2 return without errorCode")
  end
  local list = ret:child("listEventInfoComp")
  local number = (list and list:text("skybillNumber")) or codes[1]
  local events, signed = {}, nil
  if list then
    for _, ev in ipairs(list:children("events")) do
      local e, problem, who = parse_event(ev)
      if not e then return failure.broken("Chronopost " .. problem) end
      events[#events + 1] = e
      if who and e.status == "delivered" then signed = who end
    end
  end
  if not number then
    if #events == 0 then return failure.broken("no skybill number and no events") end
    return failure.broken("events without a skybill number")
  end
  if #events == 0 then
    return { [number] = failure.not_found("no events for " .. number) }
  end
  local result = { events = events }
  -- Chronopost lists oldest first: the newest delivered event is the delivery.
  for i = #events, 1, -1 do
    if events[i].status == "delivered" then
      result.delivered_at = events[i].occurred_at
      break
    end
  end
  if signed then result.signed_by = signed end
  return { [number] = result }
end

return {
  id = "chronopost",
  name = "Chronopost",
  api = 1,
  hosts = { "ws.chronopost.fr" },
  tracking_url = "https://www.chronopost.fr/tracking-no-cms/suivi-page?listeNumerosLT={code}",
  limits = { concurrency = 4, per_second = 5, batch = 1 },
  validate = validate,
  request = request,
  parse = parse,
}
