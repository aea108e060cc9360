-- SF Express (顺丰速运, China).
--
-- SF open platform (sfapi.sf-express.com), OAuth2 flow:
--   auth: POST /oauth2/accessToken  partnerID, secret, grantType=password
--         → {"apiResultCode": "A1000", "accessToken": "...", "expiresIn": 7199}
--   request: POST /std/service (form) partnerID, requestID, serviceCode=EXP_RECE_SEARCH_ROUTES,
--         timestamp, accessToken, msgData={"trackingType":"1","trackingNumber":[...],"methodType":"1"}
--         → {"apiResultCode": "A1000", "apiResultData": "<JSON text>"} where the inner
--           JSON is {"success": true, "errorCode": "S0000", "msgData": {"routeResps": [...]}}.
-- parse reads both the envelope and the bare inner document.
-- Route times ("2019-05-09 10:11:26") are China Standard Time without an offset.

local ZONE = "Asia/Shanghai"
local DEFAULT_BASE_URL = "https://sfapi.sf-express.com"

---------------------------------------------------------------------------
-- Status table: SF route opCode → status. Unknown codes are in_transit.
---------------------------------------------------------------------------
local STATUS = {
  ["50"] = "in_transit",            -- 顺丰已收件 collected (some samples word it 已派件; either way it is moving)
  ["54"] = "in_transit",            -- 上门收件 collected at the sender's door
  ["30"] = "in_transit",            -- 快件在【xx】已装车 loaded, leaving the hub
  ["31"] = "in_transit",            -- 快件到达【xx】 arrived at a hub
  ["36"] = "in_transit",            -- 快件在【xx】已装车 (transfer)
  ["605"] = "in_transit",           -- 运送中 in transport
  ["204"] = "in_transit",           -- 派件员已取件 courier took the parcel at the delivery station
  ["44"] = "out_for_delivery",      -- 正在派送途中 out for delivery
  ["34"] = "attempt_failed",        -- 派件不成功 / 滞留件 delivery not completed
  ["70"] = "attempt_failed",        -- 派送失败 delivery failed
  ["33"] = "exception",             -- 待派送 held (recipient request / weather / address problem)
  ["607"] = "available_for_pickup", -- 代收点 deposited at a collection point / locker
  ["130"] = "available_for_pickup", -- 快件已送达丰巢/代收点 in a pickup locker
  ["80"] = "delivered",             -- 已签收 signed for
  ["8000"] = "delivered",           -- 签收 (with signature image)
  ["99"] = "returned_to_sender",    -- 退回 returned
  ["648"] = "returned_to_sender",   -- 快件已退回/转寄 return or redirect: treated as the return
}

---------------------------------------------------------------------------
-- Helpers
---------------------------------------------------------------------------

local tbl = value.table       -- the value when it is a table (not json.null), else nil
local str = text.clean        -- trimmed text; integral numbers as digits; nil when empty
local short = text.short      -- one line, cut at n bytes (default 120)
local norm_code = text.code   -- upper case, no whitespace; nil when empty

-- apiResultCode (envelope) → failure. A1000 is success.
local API_FAILURES = {
  A1001 = "auth",        -- 必传参数不可为空 / partner not registered
  A1002 = "temporary",   -- 请求时效已过期
  A1003 = "auth",        -- IP 无效
  A1004 = "auth",        -- 无对应服务权限
  A1006 = "auth",        -- 数字签名无效
  A1009 = "broken",      -- 目标服务异常或不可达
  A1011 = "auth",        -- OAuth2 认证失败 (token expired / invalid)
  A1099 = "temporary",   -- 系统异常
}

local function api_failure(code, msg)
  local kind = API_FAILURES[code]
  msg = msg or ("SF API error " .. code)
  if kind == "auth" then return failure.auth(msg, code) end
  if kind == "temporary" then return failure.temporary(msg, code) end
  if code == "A1010" or (msg:find("流量", 1, true)) then return failure.rate_limited(60, msg, code) end
  return failure.broken("SF API error " .. code .. ": " .. msg, code)
end

---------------------------------------------------------------------------
-- Parsing
---------------------------------------------------------------------------

local function read_route_resp(r, warned)
  local code = norm_code(str(r.mailNo))
  local routes = tbl(r.routes)
  if routes and routes.opCode ~= nil then routes = { routes } end
  local events = {}
  for _, rt in ipairs(routes or {}) do
    rt = tbl(rt)
    local at = rt and str(rt.acceptTime) and time.parse(str(rt.acceptTime), "%Y-%m-%d %H:%M:%S", ZONE)
    if at then
      local op = str(rt.opCode) or ""
      local st = STATUS[op]
      if not st then
        st = "in_transit"
        if op ~= "" and not warned[op] then
          warned[op] = true
          log.warn("sf_express: unknown opCode", { code = op })
        end
      end
      local ev = { occurred_at = at, zone = ZONE, status = st, code = op, description = str(rt.remark) or op }
      local addr = str(rt.acceptAddress)
      if addr then ev.location = { city = addr } end
      events[#events + 1] = ev
    end
  end
  if #events == 0 then
    return code, failure.not_found("SF Express has no routes for this waybill", nil)
  end
  -- SF lists routes oldest first; the shipment's status is the latest one.
  local latest, latest_at = nil, nil
  for _, ev in ipairs(events) do
    if not latest_at or ev.occurred_at >= latest_at then latest, latest_at = ev, ev.occurred_at end
  end
  local out = { events = events, status = latest.status }
  if out.status == "delivered" then out.delivered_at = latest.occurred_at end
  return code, out
end

local function read_inner(doc, codes)
  local requested, asked = {}, {}
  for _, c in ipairs(tbl(codes) or {}) do
    local n = norm_code(c)
    if n then requested[n] = c; asked[#asked + 1] = c end
  end
  if doc.success == false or (str(doc.errorCode) and str(doc.errorCode) ~= "S0000") then
    local ec = str(doc.errorCode)
    local msg = str(doc.errorMsg) or ("SF error " .. tostring(ec))
    -- 8018 / 8152 ...: number unknown or not ours; 4001 system busy.
    if ec == "4001" or ec == "S0001" then return failure.temporary(msg, ec) end
    if msg:find("不存在", 1, true) or msg:lower():find("not exist", 1, true) or msg:lower():find("not found", 1, true) then
      local f = failure.not_found(msg, ec)
      if #asked == 0 then return f end
      local out = {}
      for _, c in ipairs(asked) do out[c] = f end
      return out
    end
    return failure.broken("SF error " .. tostring(ec) .. ": " .. msg, ec)
  end
  local md = tbl(doc.msgData)
  local list = md and tbl(md.routeResps)
  if not list then return failure.broken("SF answer without msgData.routeResps", nil) end
  if list.mailNo ~= nil then list = { list } end
  local results, count = {}, 0
  local warned = {}
  for _, r in ipairs(list) do
    r = tbl(r)
    if r then
      local code, outcome = read_route_resp(r, warned)
      if not code and #list == 1 and #asked == 1 then code = norm_code(asked[1]) end
      if code then
        local key = requested[code] or code
        if results[key] == nil then results[key] = outcome; count = count + 1 end
      end
    end
  end
  for _, c in ipairs(asked) do
    if results[c] == nil then results[c] = failure.not_found("SF Express returned nothing for this waybill", nil); count = count + 1 end
  end
  if count == 0 then
    if #list == 0 then return failure.not_found("SF Express returned no routes", nil) end
    return failure.broken("no routeResps entry has a mailNo", nil)
  end
  return results
end

local function parse_body(body, codes)
  if body:sub(1, 3) == "\239\187\191" then body = body:sub(4) end
  local first = body:match("^%s*(%S)")
  if not first then return failure.broken("empty body", nil) end
  if first == "<" then
    local title = body:match("<[Tt][Ii][Tt][Ll][Ee][^>]*>([^<]*)<")
    return failure.broken("expected JSON from SF Express, got markup" .. (title and (" (title: '" .. short(title, 80) .. "')") or ""), nil)
  end
  local doc, err = json.decode(body)
  if doc == nil then return failure.broken("body is not valid JSON: " .. short(err), nil) end
  if type(doc) ~= "table" then return failure.broken("JSON body is not an object", nil) end
  if doc.apiResultCode ~= nil then                       -- the platform envelope
    local rc = str(doc.apiResultCode)
    if rc ~= "A1000" then return api_failure(rc or "?", str(doc.apiErrorMsg)) end
    local inner = doc.apiResultData
    if type(inner) == "string" then
      local d, e = json.decode(inner)
      if type(d) ~= "table" then return failure.broken("apiResultData is not JSON: " .. short(e), nil) end
      inner = d
    end
    inner = tbl(inner)
    if not inner then return failure.broken("envelope without apiResultData", nil) end
    return read_inner(inner, codes)
  end
  if doc.success ~= nil or doc.msgData ~= nil then return read_inner(doc, codes) end
  return failure.broken("JSON without 'apiResultCode' or 'msgData'", nil)
end

local function error_message(body)
  local doc = tbl(json.decode(body or ""))
  if not doc then return nil end
  return str(doc.apiErrorMsg) or str(doc.errorMsg) or str(doc.message)
end

local function parse(response, codes, ctx)
  if type(response) ~= "table" then return failure.broken("no response", nil) end
  local f = http.triage(response, { message = error_message, refused = "SF Express refused the access token", wait = 60,
                                   now = tbl(ctx) and ctx.now })
  if f then return f end
  local status = math.tointeger(tonumber(response.status)) or 0
  local body = type(response.body) == "string" and response.body or ""
  local out = parse_body(body, codes)
  if status >= 200 and status < 300 then return out end
  if out.failure == nil then return out end
  local msg = error_message(body)
  return failure.broken("HTTP " .. status .. (msg and (": " .. msg) or ""), nil)
end

---------------------------------------------------------------------------
-- Contract functions
---------------------------------------------------------------------------

local function validate(code)
  if type(code) ~= "string" then return false, "tracking number must be text" end
  local s = code:gsub("%s+", ""):upper()
  -- Current waybills: "SF" + 13 digits (SF1011603494291); older ones: 12 digits.
  -- SF does not publish a check-digit rule, so this is format only.
  if s:match("^SF") then
    if not s:match("^SF%d+$") then return false, "after 'SF' only digits may follow" end
    if #s ~= 15 and #s ~= 14 then return false, ("expected SF + 12 or 13 digits, got %d digits"):format(#s - 2) end
    return true
  end
  if s:match("^%d+$") then
    if #s ~= 12 then return false, ("expected a 12-digit waybill number or SF + 13 digits, got %d digits"):format(#s) end
    return true
  end
  return false, "expected 'SF' + 13 digits or a 12-digit waybill number"
end

local function auth(config, ctx)
  config = tbl(config) or {}
  local partner, secret = str(config.partner_id), str(config.secret)
  if not partner or not secret then
    error("sf_express: config.partner_id and config.secret are required (SF open platform 顾客编码 and secret)", 0)
  end
  return {
    method = "POST",
    url = http.base_url(config, DEFAULT_BASE_URL) .. "/oauth2/accessToken",
    headers = { ["Content-Type"] = "application/x-www-form-urlencoded", ["Accept"] = "application/json" },
    body = url.query({ partnerID = partner, secret = secret, grantType = "password" }),
    timeout = 30,
  }
end

local function parse_auth(response, config, ctx)
  if type(response) ~= "table" then return failure.broken("no response", nil) end
  local f = http.triage(response, { message = error_message, refused = "SF Express refused the credentials", wait = 60,
                                   now = tbl(ctx) and ctx.now })
  if f then return f end
  local body = type(response.body) == "string" and response.body or ""
  local doc, err = json.decode(body)
  if type(doc) ~= "table" then return failure.broken("token response is not a JSON object" .. (err and (": " .. short(err)) or ""), nil) end
  local rc = str(doc.apiResultCode)
  if rc and rc ~= "A1000" then
    local kind = API_FAILURES[rc]
    if kind == "temporary" then return failure.temporary(str(doc.apiErrorMsg) or rc, rc) end
    return failure.auth(str(doc.apiErrorMsg) or ("SF refused the credentials (" .. rc .. ")"), rc)
  end
  local token = str(doc.accessToken)
  if not token then return failure.broken("token response has no 'accessToken'", nil) end
  local expires = tonumber(doc.expiresIn)
  -- Renew a minute early; SF tokens last two hours.
  return { token = token, expires_in = math.max(60, math.floor((expires or 7200) - 60)) }
end

local function request(codes, config, ctx)
  config = tbl(config) or {}
  local partner = str(config.partner_id)
  if not partner then error("sf_express: config.partner_id is required", 0) end
  local list = {}
  for _, c in ipairs(tbl(codes) or {}) do
    local n = norm_code(c)
    if n then list[#list + 1] = n end
  end
  local msg = { language = "0", trackingType = "1", trackingNumber = list, methodType = "1" }
  local phone = str(config.check_phone_no)   -- last 4 digits of a phone number: needed for waybills that are not the partner's own
  if phone then msg.checkPhoneNo = phone end
  local ts = string.format("%d", (time.epoch(tbl(ctx) and ctx.now) or 0) * 1000)   -- milliseconds
  return {
    method = "POST",
    url = http.base_url(config, DEFAULT_BASE_URL) .. "/std/service",
    headers = { ["Content-Type"] = "application/x-www-form-urlencoded;charset=UTF-8", ["Accept"] = "application/json" },
    body = url.query({
      partnerID = partner,
      requestID = "rastro-" .. ts .. "-" .. (list[1] or "x"),
      serviceCode = "EXP_RECE_SEARCH_ROUTES",
      timestamp = ts,
      accessToken = str(tbl(ctx) and ctx.token) or "",
      msgData = json.encode(msg),
    }),
    timeout = 30,
  }
end

return {
  id = "sf_express",
  name = "SF Express",
  api = 1,
  hosts = { "sfapi.sf-express.com" },
  tracking_url = "https://www.sf-express.com/chn/en/waybill/waybill-detail/{code}",
  poll = { every = "4h", window = "30d" },
  limits = { concurrency = 2, per_second = 5, batch = 10 },
  validate = check.guard(validate),
  auth = auth,
  parse_auth = failure.guard(parse_auth, "sf_express script"),
  request = request,
  parse = failure.guard(parse, "sf_express script"),
}
