-- Royal Mail Tracking API v2 (mailpieces).
--
-- GET https://api.royalmail.net/mailpieces/v2/{mailPieceId}/events with the
-- IBM API Connect client credentials (config.client_id, config.client_secret)
-- in X-IBM-Client-Id / X-IBM-Client-Secret and X-Accept-RMG-Terms: yes.
-- One item per request. Errors: {httpCode, httpMessage, errors: [{errorCode,
-- errorDescription, errorCause, errorResolution}]}.
-- Event times carry a UK offset ("2016-10-20T10:04:00+01:00"): Europe/London.

local ZONE = "Europe/London"
local DEFAULT_BASE_URL = "https://api.royalmail.net"

---------------------------------------------------------------------------
-- Status table: Royal Mail event code -> normalized status.
---------------------------------------------------------------------------
local STATUS = {
  ["EVPPA"] = "info_received",      -- Sender preparing item (label bought, not yet handed over)
  ["EVAIP"] = "in_transit",         -- Item received / accepted at the Post Office
  ["EVAIE"] = "in_transit",         -- Item received (business collection)
  ["EVDAC"] = "in_transit",         -- Item despatched / processed at mail centre
  ["EVDAV"] = "in_transit",         -- Item arrived at mail centre
  ["EVNMI"] = "in_transit",         -- Forwarded - Mis-sort: re-routed to the right office, still moving
  ["EVNRT"] = "in_transit",         -- Item redirected (Redirection service)
  ["EVORI"] = "in_transit",         -- Item leaving / arrived in the UK (international)
  ["EVIMC"] = "in_transit",         -- Arrived at international mail centre
  ["EVDDO"] = "in_transit",         -- Arrived at delivery office
  ["EVOCO"] = "in_transit",         -- Customs clearance completed
  ["EVOCU"] = "exception",          -- Held by customs: nothing moves until it is cleared or a fee is paid
  ["EVKOP"] = "out_for_delivery",   -- Out for delivery
  ["EVKDN"] = "attempt_failed",     -- Delivery attempted, nobody in: a "Something for you" card left
  ["EVKNR"] = "attempt_failed",     -- Delivery attempted, no access
  ["EVNDA"] = "available_for_pickup", -- Awaiting collection at the delivery office (after a card)
  ["EVNLS"] = "available_for_pickup", -- Ready for collection at a Post Office / Local Collect
  ["EVKSP"] = "delivered",          -- Delivered (signature)
  ["EVKSF"] = "delivered",          -- Delivered (safe place / neighbour)
  ["EVKLC"] = "delivered",          -- Collected by the recipient at the delivery office
  ["EVGPD"] = "delivered",          -- Delivered (proof of delivery captured)
  ["EVKRT"] = "exception",          -- Being returned to sender (return leg starts; not final)
  ["EVNRS"] = "returned_to_sender", -- Returned to sender: final
}

-- summary.statusCategory -> status, for the shipment when events are absent.
local CATEGORY = {
  ["PENDING"] = "info_received",
  ["IN TRANSIT"] = "in_transit",
  ["OUT FOR DELIVERY"] = "out_for_delivery",
  ["DELIVERED"] = "delivered",
  ["AWAITING COLLECTION"] = "available_for_pickup",
  ["RETURNED"] = "returned_to_sender",
}
local DEFAULT_STATUS = "in_transit"

local str = text.clean        -- trimmed text; integral numbers as digits; nil when empty
local tbl = value.table       -- the value when it is a table, else nil
local short = text.short      -- one line, cut at n bytes

local function validate(code)
  local c = (type(code) == "string" and code or ""):gsub("%s+", ""):upper()
  if c == "" then return false, "empty" end
  if c:match("[^%w]") then return false, "only letters and digits are allowed" end
  -- UPU S10 (Special Delivery, Tracked, International): AB123456785GB.
  local digits = c:match("^%u%u(%d%d%d%d%d%d%d%d%d)%u%u$")
  if digits then
    return check.verdict(check.s10(digits:sub(1, 8)), tonumber(digits:sub(9)))
  end
  -- 21-character unique item id (2D barcode, e.g. 090367574000000FE1E1B) or
  -- 16-character Tracked 24/48 / Parcelforce references: format only.
  if #c == 21 and c:match("^%x+$") then return true end
  if #c == 16 and c:match("^%w+$") then return true end
  return false, "format: expected AA123456789GB, a 16-character reference or a 21-character item id"
end

local function status_for(code, warned)
  local s = STATUS[code]
  if s then return s end
  if not warned[code] then
    warned[code] = true
    log.warn("royalmail: unknown event code, treated as " .. DEFAULT_STATUS, { code = code })
  end
  return DEFAULT_STATUS
end

local function read_event(e, i, warned)
  if type(e) ~= "table" then return nil, ("events[%d] is not an object"):format(i) end
  local code = str(e.eventCode)
  if not code then return nil, ("events[%d] has no 'eventCode'"):format(i) end
  code = code:upper()
  local when = str(e.eventDateTime)
  local at = when and time.parse(when, "iso", ZONE)
  if not at then return nil, ("events[%d] (%s): cannot read eventDateTime %s"):format(i, code, short(when or "(missing)", 40)) end
  local loc = str(e.locationName)
  return {
    occurred_at = at, zone = ZONE, status = status_for(code, warned),
    code = code, description = str(e.eventName) or code,
    location = loc and { facility = loc } or nil,
  }
end

local function mailpiece_result(mp)
  local warned, events = {}, {}
  local list = mp.events
  if list ~= nil and list ~= json.null and type(list) ~= "table" then return failure.broken("'events' is not a list") end
  for i, e in ipairs(list or {}) do
    local ev, err = read_event(e, i, warned)
    if not ev then return failure.broken(err) end
    events[#events + 1] = ev
  end
  local summary = tbl(mp.summary) or {}
  local result = { events = events }
  result.status = (events[1] and events[1].status) or CATEGORY[(str(summary.statusCategory) or ""):upper()]
  local eta = tbl(mp.estimatedDelivery)
  local eta_date = eta and str(eta.date)
  if eta_date and eta_date:match("^%d%d%d%d%-%d%d%-%d%d$") then
    local from = str(eta.startOfEstimatedWindow)
    result.estimated_delivery = (from and time.parse(eta_date .. "T" .. from, "iso", ZONE)) or time.parse(eta_date, "iso", ZONE)
  end
  if result.status == "delivered" then
    result.delivered_at = events[1] and events[1].occurred_at
    local sig = tbl(mp.signature)
    if sig then result.signed_by = str(sig.recipientName) end
  end
  return result
end

-- Royal Mail error body -> failure. The carrier code is the HTTP code Royal
-- Mail puts in the body, the message its httpMessage; the detailed
-- errors[] entry picks the kind and is logged.
local function error_failure(doc, http_status)
  local hcode = str(doc.httpCode) or (http_status and string.format("%d", http_status))
  local hmsg = str(doc.httpMessage) or str(doc.moreInformation) or "Royal Mail error"
  local first = tbl(tbl(doc.errors) and doc.errors[1]) or {}
  local ecode = str(first.errorCode)
  local desc = str(first.errorDescription) or ""
  if ecode then
    log.warn("royalmail: error response", { httpCode = hcode or "", errorCode = ecode, errorDescription = desc,
                                            errorCause = str(first.errorCause) or "" })
  end
  local n = tonumber(hcode)
  local lower = desc:lower()
  if n == 401 or n == 403 then return failure.auth(hmsg, hcode) end
  if n == 429 then return failure.rate_limited(nil, hmsg, hcode) end
  if n and n >= 500 then return failure.temporary(hmsg, hcode) end
  if n == 404 or lower:find("not recognised") or lower:find("not found") or lower:find("no tracking") then
    return failure.not_found(hmsg, hcode)
  end
  if lower:find("barcode") or lower:find("mailpieceid") or lower:find("invalid") and lower:find("item") then
    return failure.invalid_number(hmsg, hcode)
  end
  -- A request the API refused (missing header, bad parameters): our fault.
  return failure.broken(hmsg, hcode)
end

local function parse(response, codes, ctx)
  local status = tonumber(response.status) or 0
  local body = response.body or ""
  local doc = nil
  if body:match("^%s*[{%[]") then doc = json.decode(body) end

  if type(doc) == "table" and type(doc.mailPieces) == "table" then
    local pieces = doc.mailPieces
    if pieces.mailPieceId == nil and pieces[1] ~= nil then pieces = pieces[1] end
    if type(pieces) ~= "table" then return failure.broken("'mailPieces' is not an object") end
    local id = str(pieces.mailPieceId) or (codes and codes[1])
    if not id then return failure.broken("'mailPieces' has no 'mailPieceId'") end
    local ok, r = pcall(mailpiece_result, pieces)
    local results = {}
    results[id:upper()] = ok and r or failure.broken("unreadable mail piece: " .. short(r, 80))
    return results
  end

  if type(doc) == "table" and (doc.httpCode ~= nil or type(doc.errors) == "table") then
    return error_failure(doc, status ~= 200 and status or nil)
  end
  local f = http.triage(response, { status_code = true, now = value.table(ctx) and ctx.now })
  if f then return f end
  if status == 404 then return failure.not_found("HTTP 404", "404") end
  if type(doc) ~= "table" then
    return failure.broken(("expected JSON with 'mailPieces', got %s"):format(short(body, 60)))
  end
  return failure.broken("JSON without 'mailPieces' or 'errors'")
end

return {
  id = "royalmail",
  name = "Royal Mail",
  api = 1,
  hosts = { "api.royalmail.net" },
  tracking_url = "https://www.royalmail.com/track-your-item#/tracking-results/{code}",
  limits = { concurrency = 2, per_second = 2, batch = 1 },

  validate = validate,

  request = function(codes, config, ctx)
    local headers = { Accept = "application/json", ["X-Accept-RMG-Terms"] = "yes" }
    local id, secret = str(config and config.client_id), str(config and config.client_secret)
    if id then headers["X-IBM-Client-Id"] = id end
    if secret then headers["X-IBM-Client-Secret"] = secret end
    return {
      method = "GET",
      url = http.base_url(config, DEFAULT_BASE_URL) .. "/mailpieces/v2/" .. url.escape(codes[1]) .. "/events",
      headers = headers, timeout = 30,
    }
  end,

  parse = failure.guard(parse, "royalmail script"),
}
