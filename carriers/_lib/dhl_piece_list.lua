-- Shared by carriers/dhl_parcel_de and carriers/deutsche_post: both read the
-- same piece-shipment-list API and differ only in which code they report and
-- in the order of the events. Load with:
--   local piece_list = carriers.library("dhl_piece_list")
--   return piece_list{ id = ..., name = ..., tracking_url = ..., code_field = ..., newest_first = ... }
--
-- GET {base}/parcel/de/tracking/v0/shipments?xml=<data appname=".." password=".."
--     request="d-get-piece-detail" language-code="en" piece-code="A;B;.."/>
-- Headers: DHL-API-Key (config.api_key) and HTTP Basic (config.api_key :
-- config.api_secret); the XML carries the business-customer (GKP) user and
-- password (config.username / config.password). Up to 15 piece codes per call,
-- separated by ';'. This is the successor of the CIG "sendungsverfolgung"
-- endpoint (cig.dhl.de) and answers with the same piece-shipment-list XML:
--   <data name="piece-shipment-list" code="0">
--     <data name="piece-shipment" piece-code=".." ...>
--       <data name="piece-event-list"><data name="piece-event" .../>...</data>
-- An error answers with code != 0 and an `error` attribute (100 "No data
-- found", 5 "Log-in failed"...). Every time ("18.03.2016 10:02") is German wall
-- time without an offset.

return function(options)
  local ZONE = "Europe/Berlin"
  local DEFAULT_BASE_URL = "https://api-eu.dhl.com"
  local BATCH = 15

  -- Which attribute is the event's code, and in which order the events are returned:
  -- each carrier built on this library says (see the factory's options below).
  local CODE_FIELD = options.code_field
  local NEWEST_FIRST = options.newest_first
  local CARRIER = options.id

  ---------------------------------------------------------------------------
  -- Status tables. The ICE code (DHL's group-wide event code) is the more
  -- precise one and is looked up first; then the DHL Paket standard event code.
  ---------------------------------------------------------------------------
  local ICE_STATUS = {
    ["SHRCU"] = "in_transit",        -- shipment received from customer (posted at a branch / Packstation)
    ["PCKDU"] = "in_transit",        -- picked up (from the sender or a Packstation)
    ["LDTMV"] = "in_transit",        -- loaded for transport / processed at the origin parcel center
    ["ULFMV"] = "in_transit",        -- unloaded: arrived at / processed in a parcel center
    ["ARRVD"] = "in_transit",        -- arrived at a facility
    ["SRTED"] = "out_for_delivery",  -- sorted for the round: "loaded onto the delivery vehicle"
    ["DLVRD"] = "delivered",
    ["NTDEL"] = "attempt_failed",    -- not delivered (recipient absent...)
    ["PARCV"] = "info_received",     -- parcel data received electronically, not yet handed over
  }

  local SEC_STATUS = {
    ["VA"] = "info_received",        -- Vorankündigung: electronic pre-advice only
    ["ES"] = "in_transit",           -- Einlieferung: posted by the sender
    ["AE"] = "in_transit",           -- Abholung erfolgreich: picked up
    ["AA"] = "in_transit",           -- Abgang: left / processed at the origin parcel center
    ["EE"] = "in_transit",           -- Eingang: processed at the destination parcel center
    ["PO"] = "out_for_delivery",     -- "In delivery": loaded onto the delivery vehicle
    ["ZU"] = "delivered",            -- Zustellung erfolgreich
  }
  -- Unknown codes: a scan of a parcel DHL holds.
  local DEFAULT_STATUS = "in_transit"

  -- piece-shipment-list `code` values other than 0.
  local NOT_FOUND_CODES = { ["100"] = true }
  local AUTH_CODES = { ["5"] = true, ["3"] = true, ["4"] = true }

  ---------------------------------------------------------------------------
  -- Helpers
  ---------------------------------------------------------------------------

  local str = text.clean        -- trimmed text; integral numbers as digits; nil when empty
  local short = text.short      -- one line, cut at n bytes (default 120)
  local norm_code = text.code   -- upper case, no whitespace; nil when empty

  local function attr(node, name)
    local a = type(node) == "table" and node.attr
    if type(a) ~= "table" then return nil end
    return str(a[name])
  end

  -- Child <data name="..."> elements of a node.
  local function data_children(node, name)
    local out = {}
    for _, c in ipairs(node) do
      if type(c) == "table" and c.name == "data" and attr(c, "name") == name then out[#out + 1] = c end
    end
    return out
  end

  local function list_failure(code, message)
    local msg = message or ("DHL error code " .. (code or "?"))
    if code and NOT_FOUND_CODES[code] then return failure.not_found(msg, code) end
    if code and AUTH_CODES[code] then return failure.auth(msg, code) end
    return failure.broken("DHL tracking error " .. (code or "?") .. ": " .. short(msg, 200), code)
  end

  local function event_status(e, warned)
    local ice = attr(e, "ice")
    local sec = attr(e, "standard-event-code")
    local s = (ice and ICE_STATUS[ice:upper()]) or (sec and SEC_STATUS[sec:upper()])
    if s then return s end
    local key = (ice or "") .. "/" .. (sec or "")
    if not warned[key] then
      warned[key] = true
      log.warn(CARRIER .. ": unknown event code, treated as " .. DEFAULT_STATUS, { ice = ice or "", code = sec or "" })
    end
    return DEFAULT_STATUS
  end

  local function read_event(e, i, warned)
    local raw = attr(e, "event-timestamp")
    local at = raw and time.parse(raw, "%d.%m.%Y %H:%M", ZONE)
    if not at and raw then at = time.parse(raw, "%d.%m.%Y %H:%M:%S", ZONE) end
    if not at then
      return nil, ("piece-event %d: cannot read event-timestamp %s"):format(i, raw and ("'" .. short(raw, 40) .. "'") or "(missing)")
    end
    local loc = { city = attr(e, "event-location"), country = attr(e, "event-country") }
    if next(loc) == nil then loc = nil end
    local status = event_status(e, warned)
    if attr(e, "ruecksendung") == "true" and status ~= "delivered" then status = "returned_to_sender" end
    return {
      occurred_at = at,
      zone = ZONE,
      status = status,
      code = attr(e, CODE_FIELD) or "",
      description = attr(e, "event-status") or attr(e, "event-text") or attr(e, "event-short-status") or "",
      location = loc,
    }
  end

  local function read_piece(p, warned)
    local ids = {}
    for _, k in ipairs({ "searched-piece-code", "piece-code", "piece-identifier", "searched-ref-no" }) do
      local v = norm_code(attr(p, k))
      if v then ids[#ids + 1] = v end
    end
    local lists = data_children(p, "piece-event-list")
    local raw = {}
    for _, l in ipairs(lists) do
      for _, e in ipairs(data_children(l, "piece-event")) do raw[#raw + 1] = e end
    end
    local err = attr(p, "error-status") or attr(p, "piece-status")
    if #raw == 0 and err and err ~= "0" then
      local msg = attr(p, "piece-status-desc") or attr(p, "status") or ("piece status " .. err)
      return ids, list_failure(err, msg)
    end
    if #raw == 0 and not attr(p, "status") then
      return ids, failure.not_found("DHL returned no events for this piece", nil)
    end
    local events = {}
    for i, e in ipairs(raw) do
      local ev, why = read_event(e, i, warned)
      if not ev then return ids, failure.broken(why, nil) end
      events[#events + 1] = ev
    end
    local latest = events[#events]
    if NEWEST_FIRST then
      local rev = {}
      for i = #events, 1, -1 do rev[#rev + 1] = events[i] end
      events = rev
    end
    local result = { events = events }
    if attr(p, "delivery-event-flag") == "1" then
      result.status = "delivered"
    elseif latest then
      result.status = latest.status
    else
      result.status = "pending"
    end
    if result.status == "delivered" then
      -- the last delivery event in time
      local best
      for _, ev in ipairs(events) do
        if ev.status == "delivered" and (not best or ev.occurred_at > best) then best = ev.occurred_at end
      end
      result.delivered_at = best
    end
    return ids, result
  end

  local function html_failure(body)
    local title = str(body:match("<[Tt][Ii][Tt][Ll][Ee][^>]*>([^<]*)<"))
    local h1 = str(body:match("<[Hh]1[^>]*>([^<]*)<"))
    local p = str(body:match("<[Pp][^>]*>([^<]*)<"))
    local head = (title or "") .. " " .. (h1 or "")
    if head:find("401", 1, true) or head:lower():find("unauthori", 1, true) or head:find("403", 1, true)
       or head:lower():find("forbidden", 1, true) then
      return failure.auth(p or h1 or title or "unauthorized", h1 or title)
    end
    if head:find("429", 1, true) then return failure.rate_limited(nil, p or h1 or title, nil) end
    if head:match("5%d%d") then return failure.temporary(p or h1 or title, nil) end
    return failure.broken("expected XML from DHL, got an HTML page" .. (title and (" (title: '" .. short(title, 80) .. "')") or ""), nil)
  end

  local function parse_body(body, codes)
    if body:sub(1, 3) == "\239\187\191" then body = body:sub(4) end
    local first = body:match("^%s*(%S)")
    if not first then return failure.broken("empty body", nil) end
    if first ~= "<" then
      local doc = json.decode(body)
      if type(doc) == "table" then
        local msg = str(doc.detail) or str(doc.title) or str(doc.message)
        return failure.broken("expected XML from DHL, got JSON" .. (msg and (": " .. short(msg)) or ""), nil)
      end
      return failure.broken("expected XML from DHL, body starts with '" .. short(body:match("^%s*(.*)"), 40) .. "'", nil)
    end
    local head = body:sub(1, 512):lower()
    if head:find("<!doctype html", 1, true) or head:find("<html", 1, true) then return html_failure(body) end
    local root, err = xml.parse(body)
    if not root then return failure.broken("body is not well-formed XML: " .. short(tostring(err)), nil) end
    if root.name ~= "data" or attr(root, "name") ~= "piece-shipment-list" then
      return failure.broken("XML <" .. tostring(root.name) .. "> is not a DHL piece-shipment-list", nil)
    end
    local code = attr(root, "code")
    if code ~= "0" then
      if not code then return failure.broken("piece-shipment-list without a code", nil) end
      return list_failure(code, attr(root, "error"))
    end
    local requested = {}
    for _, c in ipairs(type(codes) == "table" and codes or {}) do
      local n = norm_code(c)
      if n then requested[n] = c; requested[n:gsub("^00", "")] = requested[n:gsub("^00", "")] or c end
    end
    local results, count, skipped, warned = {}, 0, 0, {}
    local pieces = data_children(root, "piece-shipment")
    for _, p in ipairs(pieces) do
      local ids, outcome = read_piece(p, warned)
      local key
      for _, id in ipairs(ids) do
        key = requested[id] or requested[(id:gsub("^00", ""))]
        if key then break end
      end
      if not key and #pieces == 1 and type(codes) == "table" and #codes == 1 then key = codes[1] end
      key = key or ids[1]
      if key then
        if results[key] == nil then results[key] = outcome; count = count + 1 end
      else
        skipped = skipped + 1
      end
    end
    if count == 0 then
      if skipped > 0 then return failure.broken("no piece in the response has a piece code", nil) end
      return failure.not_found("DHL returned no shipments", code)
    end
    return results
  end

  local function parse(response, codes, ctx)
    if type(response) ~= "table" then return failure.broken("no response", nil) end
    local f = http.triage(response, { refused = "DHL refused the credentials", now = value.table(ctx) and ctx.now })
    if f then return f end
    local status = math.tointeger(tonumber(response.status)) or 0
    local body = type(response.body) == "string" and response.body or ""
    local out = parse_body(body, codes)
    if status >= 200 and status < 300 then return out end
    if out.failure == nil and out.kind == nil then return out end
    return failure.broken("HTTP " .. status .. ": " .. tostring(out.message or ""), nil)
  end

  ---------------------------------------------------------------------------
  -- Numbers
  ---------------------------------------------------------------------------

  local function validate(code)
    if type(code) ~= "string" then return false, "tracking number must be text" end
    local s = code:gsub("[%s%-]+", ""):upper()
    if s:match("^%d+$") then
      if #s == 20 and s:sub(1, 2) == "00" or #s == 18 then
        return check.verdict(check.gs1(s:sub(1, -2)), s:byte(-1) - 48)
      end
      if #s == 12 or #s == 14 or #s == 20 or #s == 22 then return true end   -- Paketnummer, Leitcode, other barcodes
      return false, ("a DHL Paket number has 12, 14, 18, 20 or 22 digits, got %d"):format(#s)
    end
    if s:match("^JJD%d+$") or s:match("^JVGL%d+$") then
      if #s >= 12 and #s <= 30 then return true end
      return false, "JJD/JVGL piece numbers have 12 to 30 characters"
    end
    if s:match("^%u%u%d%d%d%d%d%d%d%d%d%u%u$") then
      return check.verdict(check.s10(s:sub(3, 10)), s:byte(11) - 48)
    end
    return false, "expected a DHL Paket number (12/20 digits, JJD...) or a UPU number like CA123456785DE"
  end

  ---------------------------------------------------------------------------
  -- Request
  ---------------------------------------------------------------------------

  local function xml_attr(v)
    return (tostring(v or ""):gsub("&", "&amp;"):gsub("\"", "&quot;"):gsub("<", "&lt;"):gsub(">", "&gt;"))
  end

  local function request(codes, config, ctx)
    config = type(config) == "table" and config or {}
    local list = {}
    for _, c in ipairs(type(codes) == "table" and codes or {}) do
      local n = norm_code(c)
      if n then list[#list + 1] = n end
    end
    local doc = '<?xml version="1.0" encoding="UTF-8" standalone="no"?><data appname="' .. xml_attr(str(config.username))
      .. '" password="' .. xml_attr(str(config.password)) .. '" request="d-get-piece-detail" language-code="'
      .. xml_attr(str(config.language) or "en") .. '" piece-code="' .. xml_attr(table.concat(list, ";")) .. '"/>'
    local headers = { Accept = "application/xml" }
    local key, secret = str(config.api_key), str(config.api_secret)
    if key then headers["DHL-API-Key"] = key end
    if key and secret then headers.Authorization = "Basic " .. base64.encode(key .. ":" .. secret) end
    return {
      method = "GET",
      url = http.base_url(config, DEFAULT_BASE_URL) .. "/parcel/de/tracking/v0/shipments?xml=" .. url.escape(doc),
      headers = headers,
      timeout = 30,
    }
  end

  return {
    id = options.id,
    name = options.name,
    api = 1,
    hosts = { "api-eu.dhl.com" },
    tracking_url = options.tracking_url,
    limits = { concurrency = 2, per_second = 3, batch = BATCH },
    validate = check.guard(validate),
    request = request,
    parse = failure.guard(parse, CARRIER .. " script"),
  }
end
