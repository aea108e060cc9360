-- Yanwen (燕文物流, China).
--
-- Tracking API: GET {base}/api/tracking?nums=N1,N2,... with the customer's
-- API token in the Authorization header (config.api_token). Answer:
-- {"code": 0, "message": "success", "result": [{"tracking_number", "tracking_status",
--   "checkpoints": [{"time_stamp": "2019-08-15T18:52:19", "time_zone": "+8",
--   "tracking_status": "PU10", "message": "...", "location": "..."}]}]}
-- A non-zero "code" is an error for the whole request. Checkpoint times are
-- local wall time in the checkpoint's own "time_zone" (hours from UTC).

local DEFAULT_BASE_URL = "https://api.track.yw56.com.cn"

---------------------------------------------------------------------------
-- Status table: Yanwen tracking_status codes (shipment and checkpoint level).
-- Two letters name the stage, two digits the step; codes not listed fall
-- back to the stage in STAGE below.
---------------------------------------------------------------------------
local STATUS = {
  ["NOTFOUND"] = nil,               -- no information: handled as not_found
  ["OR10"] = "info_received",       -- order / label data received, parcel not yet handed over
  ["PU10"] = "in_transit",          -- Yanwen acceptance (physical pick-up scan)
  ["LM25"] = "available_for_pickup",-- waiting at a pickup point / post office (last mile)
  ["LM30"] = "out_for_delivery",    -- last-mile carrier out for delivery
  ["LM35"] = "attempt_failed",      -- last-mile delivery attempt failed
  ["LM40"] = "delivered",           -- delivered (Yanwen's terminal success status)
  ["LM50"] = "exception",           -- last-mile exception (damaged, address problem)
  ["LM90"] = "returned_to_sender",  -- returned (Yanwen's terminal return status)
}

-- By stage prefix, when the exact code is not in STATUS.
local STAGE = {
  OR = "info_received",  -- order
  PU = "in_transit",     -- pick-up
  SC = "in_transit",     -- sorting centre (SC10 in, SC20 out)
  LH = "in_transit",     -- line haul / air freight
  CC = "in_transit",     -- customs clearance (export or import); holds show up as EX codes
  GT = "in_transit",     -- handover to the destination post
  LM = "in_transit",     -- last mile, before the listed out-for-delivery/delivered steps
  EX = "exception",      -- exceptions
  RT = "returned_to_sender", -- return flow
}

---------------------------------------------------------------------------
-- Helpers
---------------------------------------------------------------------------

local tbl = value.table       -- the value when it is a table (not json.null), else nil
local str = text.clean        -- trimmed text; integral numbers as digits; nil when empty
local short = text.short      -- one line, cut at n bytes (default 120)
local norm_code = text.code   -- upper case, no whitespace; nil when empty

local function status_for(code)
  if not code then return nil end
  local up = code:upper()
  local st = STATUS[up]
  if st then return st end
  return STAGE[up:sub(1, 2)]
end

-- "+8", "-3", "+5.5", "+05:30", "8" → "+08:00"-style offset; nil when unreadable.
local function offset(tz)
  tz = str(tz)
  if not tz then return nil end
  local sign, h, m = tz:match("^([+-]?)(%d%d?):(%d%d)$")
  if h then
    return (sign == "-" and "-" or "+") .. ("%02d:%s"):format(tonumber(h), m)
  end
  local s, num = tz:match("^([+-]?)(%d+%.?%d*)$")
  if not num then return nil end
  local v = tonumber(num)
  if not v or v > 14 then return nil end
  local hh = math.floor(v)
  local minutes = hh * 60 + math.floor((v - hh) * 60 + 0.5)
  -- Whole hours as the IANA fixed-offset zone (POSIX sign: UTC+8 is Etc/GMT-8),
  -- which every consumer of the event's zone understands.
  return time.zone(s == "-" and -minutes or minutes)
end

local function error_message(body)
  local doc = json.decode(body or "")
  doc = tbl(doc)
  if not doc then return nil end
  return str(doc.message) or str(doc.msg) or str(doc.error)
end

---------------------------------------------------------------------------
-- Parsing
---------------------------------------------------------------------------

local function read_result(r, warned)
  local code = norm_code(str(r.tracking_number))
  local top = str(r.tracking_status)
  local cps = tbl(r.checkpoints)
  if cps and cps.time_stamp ~= nil then cps = { cps } end
  local events = {}
  for _, cp in ipairs(cps or {}) do
    cp = tbl(cp)
    if cp then
      local ts = str(cp.time_stamp)
      local zone = offset(cp.time_zone) or "UTC"
      local at = ts and time.parse(ts, "iso", zone)
      if at then
        local ecode = str(cp.tracking_status) or ""
        local st = status_for(ecode)
        if not st then
          st = "in_transit"
          if ecode ~= "" and not warned[ecode] then
            warned[ecode] = true
            log.warn("yanwen: unknown tracking_status", { code = ecode })
          end
        end
        local ev = {
          occurred_at = at,
          zone = zone,
          status = st,
          code = ecode,
          description = str(cp.message) or ecode,
        }
        local loc = str(cp.location)
        if loc then ev.location = { city = loc } end
        events[#events + 1] = ev
      end
    end
  end
  if #events == 0 then
    if top and top:upper() ~= "NOTFOUND" and status_for(top) then
      return code, failure.not_found("Yanwen has no checkpoints yet (status " .. top .. ")", top)
    end
    return code, failure.not_found("Yanwen has no tracking information for this number", top)
  end
  local out = { events = events }
  out.status = status_for(top)
  return code, out
end

local function parse_body(body, codes)
  if body:sub(1, 3) == "\239\187\191" then body = body:sub(4) end
  local first = body:match("^%s*(%S)")
  if not first then return failure.broken("empty body", nil) end
  if first == "<" then
    local title = body:match("<[Tt][Ii][Tt][Ll][Ee][^>]*>([^<]*)<")
    return failure.broken("expected JSON from Yanwen, got markup" .. (title and (" (title: '" .. short(title, 80) .. "')") or ""), nil)
  end
  local doc, err = json.decode(body)
  if doc == nil then return failure.broken("body is not valid JSON: " .. short(err), nil) end
  if type(doc) ~= "table" then return failure.broken("JSON body is not an object", nil) end

  local rc = doc.code
  if rc ~= nil and rc ~= json.null then
    local n = tonumber(rc)
    local msg = str(doc.message) or ("Yanwen error code " .. tostring(str(rc)))
    if n ~= 0 then
      local lower = msg:lower()
      local c = str(rc)
      if n == 401 or n == 403 or lower:find("token", 1, true) or lower:find("auth", 1, true) then
        return failure.auth(msg, c)
      end
      if n == 429 or lower:find("frequen", 1, true) or lower:find("too many", 1, true) then
        return failure.rate_limited(60, msg, c)
      end
      if n and n >= 500 then return failure.temporary(msg, c) end
      return failure.broken("Yanwen error " .. tostring(c) .. ": " .. msg, c)
    end
  end
  local list = doc.result
  if list == nil or list == json.null then
    return failure.broken("JSON without 'result' (Yanwen tracking answers {code, message, result})", nil)
  end
  list = tbl(list)
  if not list then return failure.broken("'result' is not a list", nil) end
  if list.tracking_number ~= nil then list = { list } end

  local requested, asked = {}, {}
  for _, c in ipairs(tbl(codes) or {}) do
    local n = norm_code(c)
    if n then requested[n] = c; asked[#asked + 1] = c end
  end
  local results, count = {}, 0
  local warned = {}
  for _, r in ipairs(list) do
    r = tbl(r)
    if r then
      local code, outcome = read_result(r, warned)
      if not code and #list == 1 and #asked == 1 then code = norm_code(asked[1]) end
      if code then
        local key = requested[code] or code
        if results[key] == nil then results[key] = outcome; count = count + 1 end
      end
    end
  end
  -- Asked-for numbers the answer leaves out are unknown to Yanwen.
  for _, c in ipairs(asked) do
    if results[c] == nil and count > 0 then
      results[c] = failure.not_found("Yanwen returned nothing for this number", nil)
    end
  end
  if count == 0 then
    if #list == 0 then
      local f = failure.not_found("Yanwen has no tracking information", nil)
      if #asked == 0 then return f end
      for _, c in ipairs(asked) do results[c] = f end
      return results
    end
    return failure.broken("no result in the response has a tracking_number", nil)
  end
  return results
end

local function parse(response, codes, ctx)
  if type(response) ~= "table" then return failure.broken("no response", nil) end
  local f = http.triage(response, { message = error_message, refused = "Yanwen refused the API token", wait = 60, now = tbl(ctx) and ctx.now })
  if f then return f end
  local status = math.tointeger(tonumber(response.status)) or 0
  local body = type(response.body) == "string" and response.body or ""
  local out = parse_body(body, codes)
  if status >= 200 and status < 300 then return out end
  if out.failure == nil then return out end
  local msg = error_message(body)
  return failure.broken("HTTP " .. status .. (msg and (": " .. msg) or (": " .. tostring(out.message or ""))), nil)
end

---------------------------------------------------------------------------
-- Contract functions
---------------------------------------------------------------------------

local function validate(code)
  if type(code) ~= "string" then return false, "tracking number must be text" end
  local s = code:gsub("%s+", ""):upper()
  -- UPU S10 (registered post handed to a postal operator, e.g. UG...YP, LX...CN).
  if s:match("^%u%u%d%d%d%d%d%d%d%d%d%u%u$") then
    return check.verdict(check.s10(s:sub(3, 10)), s:byte(11) - 48, "S10 check digit")
  end
  -- SSCC with the (00) application identifier: 20 digits, GS1 check digit.
  if s:match("^00%d+$") and #s == 20 then
    return check.verdict(check.gs1(s:sub(3, 19)), s:byte(20) - 48, "SSCC check digit")
  end
  -- Yanwen's own waybills (e.g. YT/VR/LW prefixes) and last-mile numbers: letters and digits.
  if #s < 10 or #s > 30 then return false, ("expected 10 to 30 characters, got %d"):format(#s) end
  if not s:match("^[%u%d]+$") then return false, "only letters and digits are allowed" end
  if not s:match("%d%d%d%d%d%d") then return false, "expected at least 6 digits" end
  return true
end

local function request(codes, config, ctx)
  config = tbl(config) or {}
  local token = str(config.api_token) or str(config.api_key)
  if not token then error("yanwen: config.api_token is required (Yanwen tracking API token)", 0) end
  local list = {}
  for _, c in ipairs(tbl(codes) or {}) do
    local n = norm_code(c)
    if n then list[#list + 1] = url.escape(n) end
  end
  return {
    method = "GET",
    url = http.base_url(config, DEFAULT_BASE_URL) .. "/api/tracking?nums=" .. table.concat(list, ","),
    headers = { ["Accept"] = "application/json", ["Authorization"] = token },
    timeout = 30,
  }
end

return {
  id = "yanwen",
  name = "Yanwen",
  api = 1,
  hosts = { "api.track.yw56.com.cn", "trackapi.yanwentech.com" },
  tracking_url = "https://track.yw56.com.cn/en/querydel?nums={code}",
  poll = { every = "6h", window = "60d" },
  limits = { concurrency = 2, per_second = 2, batch = 30 },
  validate = check.guard(validate),
  request = request,
  parse = failure.guard(parse, "yanwen script"),
}
