/// The trusted Lua that builds the script-facing helpers over the raw modules.
///
/// It runs once per state, before sealing, with the host's own globals plus
/// `cjson` (lua-cjson's safe variant), `xml_tree` (the C tree builder over
/// libexpat) and `xml_trim` (both in Sources/CLuaShim/rastro_xml.c). It returns
/// the namespaces to publish; scripts reach them only as read-only proxies, and
/// never see the raw helpers themselves. Documented for script authors in
/// docs/host-api.md.
public enum HostPrelude {
    public static let source = #"""
local cjson, xml_tree, xml_trim, host_url, host_carriers, sandbox_load = cjson, xml_tree, xml_trim, host.url, host.carriers, sandbox_load
local type, pairs, ipairs, tostring, setmetatable, error = type, pairs, ipairs, tostring, setmetatable, error
local concat, insert, sort = table.concat, table.insert, table.sort
local find, sub, gsub = string.find, string.sub, string.gsub

-- json -------------------------------------------------------------------
local json_state = cjson.new()
json_state.encode_sparse_array(true)   -- sparse arrays become objects instead of erroring
json_state.decode_max_depth(200)
json_state.encode_max_depth(200)
local json = {
  null = json_state.null,
  -- json.decode(text) -> value | nil, message   (numbers come back as floats)
  decode = function(text)
    if type(text) ~= "string" then return nil, "json.decode: expected a string, got " .. type(text) end
    local ok, value, err = pcall(json_state.decode, text)
    if not ok then return nil, "json: " .. tostring(value) end
    if value == nil then return nil, "json: " .. tostring(err) end
    return value
  end,
  -- json.encode(value) -> text | nil, message
  encode = function(value)
    local ok, text, err = pcall(json_state.encode, value)
    if not ok then return nil, "json: " .. tostring(text) end
    if text == nil then return nil, "json: " .. tostring(err) end
    return text
  end,
}

-- xml --------------------------------------------------------------------
-- Nodes: { name = local name, ns = namespace URI or nil, attr = {..},
--          value = the node's own text, untrimmed, [1..n] = child nodes }
local node_methods = {}
-- __metatable: every script's nodes share this table, so a script must not
-- reach it (getmetatable) or swap it (setmetatable) to change node methods.
local node_meta = { __index = node_methods, __metatable = false }

-- What a name given to child/children/descendants picks: "*" any node,
-- "{uri}name" that namespace and local name, otherwise that local name.
-- Worked out once per call, not once per node visited.
local ANY, LOCAL, QUALIFIED, NOTHING = 0, 1, 2, 3
local function selector(name)
  if name == "*" then return ANY end
  if sub(name, 1, 1) == "{" then
    local close = find(name, "}", 2, true)
    if not close then return NOTHING end
    return QUALIFIED, sub(name, close + 1), sub(name, 2, close - 1)
  end
  return LOCAL, name
end

local function selects(node, kind, lname, uri)
  if kind == LOCAL then return node.name == lname end
  if kind == ANY then return true end
  if kind == QUALIFIED then return node.ns == uri and node.name == lname end
  return false
end

-- node:child(name) -> first child with that local name ("*" for any, "{uri}name" to pin the namespace)
function node_methods.child(node, name)
  local n = #node
  if n == 0 then return nil end
  local kind, lname, uri = selector(name)
  if kind == LOCAL then
    for i = 1, n do
      local c = node[i]
      if c.name == lname then return c end
    end
    return nil
  end
  for i = 1, n do
    local c = node[i]
    if selects(c, kind, lname, uri) then return c end
  end
  return nil
end

-- node:children(name) -> list of the children with that name (all children if nil)
function node_methods.children(node, name)
  local out, n = {}, #node
  if n == 0 then return out end
  if name == nil then
    for i = 1, n do out[#out + 1] = node[i] end
    return out
  end
  local kind, lname, uri = selector(name)
  for i = 1, n do
    local c = node[i]
    if selects(c, kind, lname, uri) then out[#out + 1] = c end
  end
  return out
end

-- node:find("a/b/c") -> the first node down that path of local names
function node_methods.find(node, path)
  local current = node
  for step in string.gmatch(path, "[^/]+") do
    current = current:child(step)
    if not current then return nil end
  end
  return current
end

-- node:text(name?) -> trimmed text of the node, or of its first child named `name`; nil if absent
function node_methods.text(node, name)
  local target = node
  if name then target = node:find(name) end
  if not target then return nil end
  return xml_trim(target.value)
end

local function collect(node, kind, lname, uri, out)
  for i = 1, #node do
    local c = node[i]
    if selects(c, kind, lname, uri) then out[#out + 1] = c end
    collect(c, kind, lname, uri, out)
  end
end

-- node:descendants(name) -> every node below with that local name, document order
function node_methods.descendants(node, name, out)
  out = out or {}
  if #node == 0 then return out end
  local kind, lname, uri = selector(name)
  collect(node, kind, lname, uri, out)
  return out
end

local xml = {}

-- xml.parse(text) -> root node | nil, message
-- xml_tree builds every node in C with node_meta as its metatable; it returns
-- nil, message[, line, column] for what it refuses, and raises only for the
-- call's limits (memory cap, deadline).
function xml.parse(text)
  if type(text) ~= "string" then return nil, "xml.parse: expected a string, got " .. type(text) end
  local root, msg, line, col = xml_tree(text, node_meta)
  if not root then
    return nil, "xml: " .. tostring(msg) .. (line and (" at line " .. line .. ", column " .. tostring(col)) or "")
  end
  return root
end

-- url --------------------------------------------------------------------
local url = {}

-- url.query{ a = 1, b = {"x", "y"} } -> "a=1&b=x&b=y"  (keys sorted, values escaped)
function url.query(params)
  local keys = {}
  for k in pairs(params) do keys[#keys + 1] = tostring(k) end
  sort(keys)
  local parts = {}
  for _, k in ipairs(keys) do
    local v = params[k]
    if v == nil then v = params[tonumber(k)] end
    if type(v) == "table" then
      for _, item in ipairs(v) do parts[#parts + 1] = host_url.escape(k) .. "=" .. host_url.escape(tostring(item)) end
    elseif type(v) == "boolean" then
      parts[#parts + 1] = host_url.escape(k) .. "=" .. (v and "true" or "false")
    else
      parts[#parts + 1] = host_url.escape(k) .. "=" .. host_url.escape(tostring(v))
    end
  end
  return concat(parts, "&")
end

-- failures -----------------------------------------------------------------
-- parse returns these for a code (or for the whole response).
local function failure_ctor(kind)
  return function(message, code)
    return { failure = kind, message = message, code = code }
  end
end
local failure = {
  not_found = failure_ctor("not_found"),
  invalid_number = failure_ctor("invalid_number"),
  auth = failure_ctor("auth"),
  temporary = failure_ctor("temporary"),
  broken = failure_ctor("broken"),
  rate_limited = function(retry_after, message, code)
    return { failure = "rate_limited", retry_after = retry_after, message = message, code = code }
  end,
}

-- failure.guard(fn, who) -> fn, except that an error it raises comes back as
-- failure.broken(who .. " could not read the response: " .. error)
function failure.guard(fn, who)
  who = tostring(who or "the script")
  return function(...)
    local ok, result = pcall(fn, ...)
    if ok then return result end
    return failure.broken(who .. " could not read the response: " .. tostring(result), nil)
  end
end

-- text ---------------------------------------------------------------------
local text = {}
local byte = string.byte

-- text.clean(v) -> trimmed string (integral numbers as digits), nil when empty or not text
function text.clean(v)
  if type(v) == "number" then
    local i = math.tointeger(v)
    return i and tostring(i) or tostring(v)
  end
  if type(v) ~= "string" then return nil end
  local s = v:match("^%s*(.-)%s*$")
  if s == "" then return nil end
  return s
end

-- text.code(v) -> v upper-cased without whitespace (a tracking number as typed; a json
-- number as its digits), nil when empty
function text.code(c)
  local s = text.clean(c)
  if not s then return nil end
  return (gsub(s, "%s+", ""):upper())
end

-- text.codes(list) -> { [text.code(c)] = c } for the tracking numbers asked for, so a number
-- a response spells its own way finds the spelling the caller used
function text.codes(list)
  local out = {}
  if type(list) ~= "table" then return out end
  for _, c in ipairs(list) do
    local n = text.code(c)
    if n then out[n] = c end
  end
  return out
end

-- text.short(s, n) -> s on one line (every run of whitespace one space), cut to n bytes
-- (default 120) and marked "..." when longer; the cut never splits a UTF-8 character
function text.short(s, n)
  if s == nil then return "" end
  local ok, t = pcall(tostring, s)
  if not ok or type(t) ~= "string" then return "" end
  t = gsub(t, "%s+", " ")
  n = math.tointeger(tonumber(n)) or 120
  if n < 0 then n = 0 end
  if #t <= n then return t end
  while n > 0 do                         -- back off UTF-8 continuation bytes (10xxxxxx)
    local b = byte(t, n + 1)
    if b < 0x80 or b >= 0xC0 then break end
    n = n - 1
  end
  return sub(t, 1, n) .. "..."
end

-- value --------------------------------------------------------------------
local value = {}

-- value.table(v) -> v when it is a table; nil for anything else (json.null, text, numbers)
function value.table(v)
  if type(v) == "table" then return v end
  return nil
end

-- time (beside the C time.parse) ---------------------------------------------
local host_time = host.time

-- Days from 1970-01-01 to a civil date and back (H. Hinnant's algorithms).
local function days_from_civil(y, m, d)
  if m <= 2 then y = y - 1 end
  local era = (y >= 0 and y or y - 399) // 400
  local yoe = y - era * 400
  local doy = (153 * (m + (m > 2 and -3 or 9)) + 2) // 5 + d - 1
  local doe = yoe * 365 + yoe // 4 - yoe // 100 + doy
  return era * 146097 + doe - 719468
end

local function civil_from_days(z)
  z = z + 719468
  local era = (z >= 0 and z or z - 146096) // 146097
  local doe = z - era * 146097
  local yoe = (doe - doe // 1460 + doe // 36524 - doe // 146096) // 365
  local doy = doe - (365 * yoe + yoe // 4 - yoe // 100)
  local mp = (5 * doy + 2) // 153
  local d = doy - (153 * mp + 2) // 5 + 1
  local m = mp + (mp < 10 and 3 or -9)
  return yoe + era * 400 + (m <= 2 and 1 or 0), m, d
end

local time_ext = {}

-- time.epoch(iso) -> whole seconds since 1970-01-01T00:00:00Z of an ISO-8601 time
-- (time.parse's "iso" format; a time without an offset counts as UTC), nil when unreadable
function time_ext.epoch(iso)
  if type(iso) ~= "string" then return nil end
  local ok, at = pcall(host_time.parse, iso, "iso", "UTC")
  if not ok or type(at) ~= "string" then return nil end
  local y, mo, d, h, mi, s = at:match("^(%d%d%d%d)%-(%d%d)%-(%d%d)T(%d%d):(%d%d):(%d%d)Z$")
  if not y then return nil end
  return days_from_civil(tonumber(y), tonumber(mo), tonumber(d)) * 86400
    + tonumber(h) * 3600 + tonumber(mi) * 60 + tonumber(s)
end

-- time.iso(seconds) -> "YYYY-MM-DDTHH:MM:SSZ" for whole seconds since the epoch (years
-- 0000-9999), nil otherwise
function time_ext.iso(t)
  t = math.tointeger(t)
  if not t or t < -62167219200 or t > 253402300799 then return nil end
  local days, secs = t // 86400, t % 86400
  local y, m, d = civil_from_days(days)
  return ("%04d-%02d-%02dT%02d:%02d:%02dZ"):format(y, m, d, secs // 3600, secs % 3600 // 60, secs % 60)
end

-- time.zone(minutes) -> a zone name for a fixed UTC offset: "UTC", "Etc/GMT-5" for whole
-- hours (IANA's sign: Etc/GMT-5 is UTC+5), "+05:30" otherwise; nil when not a whole number
function time_ext.zone(minutes)
  minutes = math.tointeger(minutes)
  if not minutes then return nil end
  if minutes == 0 then return "UTC" end
  if minutes % 60 == 0 and minutes >= -12 * 60 and minutes <= 14 * 60 then
    local h = minutes // 60
    return (h > 0 and "Etc/GMT-" or "Etc/GMT+") .. ("%d"):format(math.abs(h))
  end
  local m = math.abs(minutes)
  return ("%s%02d:%02d"):format(minutes < 0 and "-" or "+", m // 60, m % 60)
end

-- http ---------------------------------------------------------------------
local http = {}

-- http.base_url(config, default) -> config.base_url (trimmed) or default, trailing slashes removed
function http.base_url(config, default)
  local base = type(config) == "table" and text.clean(config.base_url) or nil
  base = base or text.clean(default)
  if not base then return nil end
  return (gsub(base, "/+$", ""))
end

-- HTTP dates (RFC 9110 5.6.7): IMF-fixdate, then the obsolete RFC 850 and asctime forms.
local HTTP_DATES = { "%a, %d %b %Y %H:%M:%S GMT", "%a, %d-%b-%y %H:%M:%S GMT", "%a %b %e %H:%M:%S %Y" }

-- http.retry_after(headers, now) -> seconds the Retry-After header asks for (a number of
-- seconds, or an HTTP date counted from `now`, an ISO time such as ctx.now), nil when absent or unreadable
function http.retry_after(headers, now)
  local v = type(headers) == "table" and text.clean(headers["retry-after"]) or nil
  if not v then return nil end
  local n = tonumber(v)
  if n then
    if n >= 0 and n < math.huge then return n end
    return nil
  end
  local from = time_ext.epoch(now)
  if not from then return nil end
  for _, format in ipairs(HTTP_DATES) do
    local ok, at = pcall(host_time.parse, v, format, "UTC")
    local to = ok and time_ext.epoch(at)
    if to then return math.max(0, to - from) end
  end
  return nil
end

-- http.html(body) -> the page's title ("" when it has none) when body is an HTML page
-- (it starts with "<" and its first 512 bytes hold "<!doctype html" or "<html"), else nil
function http.html(body)
  if type(body) ~= "string" then return nil end
  if sub(body, 1, 3) == "\239\187\191" then body = sub(body, 4) end   -- UTF-8 byte-order mark
  if not find(body, "^%s*<") then return nil end
  local head = sub(body, 1, 512):lower()
  if not (find(head, "<!doctype html", 1, true) or find(head, "<html", 1, true)) then return nil end
  return text.clean(body:match("<[Tt][Ii][Tt][Ll][Ee][^>]*>([^<]*)<")) or ""
end

-- http.triage(response, opts) -> the failure an HTTP status alone decides, or nil when the
-- body should be read: 401/403 auth, 429 rate_limited, 408 and 5xx temporary; with
-- opts.expect, an HTML page (a maintenance or gateway page) in place of the API's answer is broken.
-- opts (all optional): message = function(body) -> text, code (the carrier's reading of an
-- error body), refused = what a 401/403 without a message says after "HTTP 401: ",
-- now = ctx.now (for a Retry-After date), wait = seconds when a 429 has no Retry-After,
-- token = true (a token endpoint: 400 refuses the credentials too), status_code = true
-- (a 401/403 failure's code is the HTTP status when the body gives none), expect = what the
-- carrier answers with, for the HTML page's message ("JSON from Acme").
function http.triage(response, opts)
  if type(response) ~= "table" then return nil end
  if type(opts) ~= "table" then opts = {} end
  local status = math.tointeger(tonumber(response.status)) or 0
  local body = type(response.body) == "string" and response.body or ""
  if sub(body, 1, 3) == "\239\187\191" then body = sub(body, 4) end   -- UTF-8 byte-order mark
  local kind
  if status == 401 or status == 403 or (status == 400 and opts.token) then kind = "auth"
  elseif status == 429 then kind = "rate_limited"
  elseif status >= 500 or status == 408 then kind = "temporary"
  else
    local expect = text.clean(opts.expect)
    local title = expect and http.html(body)
    if not title then return nil end
    local prefix = (status >= 200 and status < 300) and "" or ("HTTP " .. status .. ": ")
    return failure.broken(prefix .. "expected " .. expect .. ", got an HTML page"
      .. (title ~= "" and (" (title: '" .. text.short(title, 80) .. "')") or ""), nil)
  end
  local message, code
  if type(opts.message) == "function" then
    local ok, m, c = pcall(opts.message, body)
    if ok then message, code = text.clean(m), text.clean(c) end
  end
  if kind == "auth" then
    local refused = text.clean(opts.refused)
    if not code and opts.status_code then code = ("%d"):format(status) end
    return failure.auth(message or ("HTTP " .. status .. (refused and (": " .. refused) or "")), code)
  end
  if kind == "rate_limited" then
    local wait = http.retry_after(response.headers, opts.now)
    if wait == nil then wait = tonumber(opts.wait) end
    return failure.rate_limited(wait, message or "HTTP 429: too many requests", code)
  end
  return failure.temporary("HTTP " .. status .. (message and (": " .. message) or ""), code)
end

-- hash ---------------------------------------------------------------------
local hash = {}

local SHA256_K = {
  0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
  0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
  0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
  0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
  0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
  0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
  0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
  0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
}
local M32 = 0xffffffff
local function rotr(x, n) return ((x >> n) | (x << (32 - n))) & M32 end

-- hash.sha256(text) -> the SHA-256 digest of text as 64 lowercase hex digits (FIPS 180-4)
function hash.sha256(msg)
  if type(msg) ~= "string" then return nil end
  local h = { 0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19 }
  local len = #msg
  msg = msg .. "\128" .. string.rep("\0", (55 - len) % 64) .. string.pack(">I8", len * 8)
  local w = {}
  for chunk = 1, #msg, 64 do
    for i = 0, 15 do w[i] = string.unpack(">I4", msg, chunk + i * 4) end
    for i = 16, 63 do
      local a, b = w[i - 15], w[i - 2]
      local s0 = rotr(a, 7) ~ rotr(a, 18) ~ (a >> 3)
      local s1 = rotr(b, 17) ~ rotr(b, 19) ~ (b >> 10)
      w[i] = (w[i - 16] + s0 + w[i - 7] + s1) & M32
    end
    local a, b, c, d, e, f, g, hh = h[1], h[2], h[3], h[4], h[5], h[6], h[7], h[8]
    for i = 0, 63 do
      local S1 = rotr(e, 6) ~ rotr(e, 11) ~ rotr(e, 25)
      local ch = (e & f) ~ (~e & g)
      local t1 = (hh + S1 + ch + SHA256_K[i + 1] + w[i]) & M32
      local S0 = rotr(a, 2) ~ rotr(a, 13) ~ rotr(a, 22)
      local maj = (a & b) ~ (a & c) ~ (b & c)
      local t2 = (S0 + maj) & M32
      hh, g, f, e, d, c, b, a = g, f, e, (d + t1) & M32, c, b, a, (t1 + t2) & M32
    end
    h[1] = (h[1] + a) & M32; h[2] = (h[2] + b) & M32; h[3] = (h[3] + c) & M32; h[4] = (h[4] + d) & M32
    h[5] = (h[5] + e) & M32; h[6] = (h[6] + f) & M32; h[7] = (h[7] + g) & M32; h[8] = (h[8] + hh) & M32
  end
  local out = {}
  for i = 1, 8 do out[i] = ("%08x"):format(h[i]) end
  return concat(out)
end

-- check digits -------------------------------------------------------------
-- Each takes what the check digit is computed over (the number without it) and returns
-- the check digit it should have; nil when that is not digits (of the right length).
local check = {}

local S10_WEIGHTS = { 8, 6, 4, 2, 3, 5, 9, 7 }

-- check.s10(serial) -> 0-9 for the 8-digit serial of a UPU S10 number (AA 12345678 5 BR)
function check.s10(serial)
  if type(serial) ~= "string" or not serial:match("^%d%d%d%d%d%d%d%d$") then return nil end
  local sum = 0
  for i = 1, 8 do sum = sum + (byte(serial, i) - 48) * S10_WEIGHTS[i] end
  local c = 11 - sum % 11
  if c == 10 then return 0 end
  if c == 11 then return 5 end
  return c
end

-- check.gs1(digits) -> 0-9, GS1 mod 10 (SSCC, GTIN, USPS IMpb): weights 3, 1, 3... from the right
function check.gs1(digits)
  if type(digits) ~= "string" or not digits:match("^%d+$") then return nil end
  local sum, w = 0, 3
  for i = #digits, 1, -1 do
    sum = sum + (byte(digits, i) - 48) * w
    w = 4 - w
  end
  return (10 - sum % 10) % 10
end

-- check.mod7(digits) -> 0-6, the number modulo 7 (DHL Express waybills)
function check.mod7(digits)
  if type(digits) ~= "string" or not digits:match("^%d+$") then return nil end
  local r = 0
  for i = 1, #digits do r = (r * 10 + byte(digits, i) - 48) % 7 end
  return r
end

-- check.verdict(want, got, what) -> what validate returns for a number whose check digit
-- should be `want` and is `got`: true, "check_digit" when they match, else false and
-- "<what>: expected <want>, got <got>" (what defaults to "check digit")
function check.verdict(want, got, what)
  if want ~= nil and want == got then return true, "check_digit" end
  return false, ("%s: expected %s, got %s"):format(tostring(what or "check digit"), tostring(want), tostring(got))
end

-- check.guard(validate) -> validate, except that a number it raises on is answered
-- false, "cannot check this number"
function check.guard(fn)
  return function(code)
    local ok, valid, reason = pcall(fn, code)
    if not ok then return false, "cannot check this number" end
    return valid, reason
  end
end

local ALNUM36 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"

-- check.mod37_36(chars) -> the check character (0-9, A-Z) of ISO/IEC 7064 MOD 37,36 over
-- digits and capital letters (DPD parcel numbers)
function check.mod37_36(chars)
  if type(chars) ~= "string" or not chars:match("^[%dA-Z]+$") then return nil end
  local p = 36
  for i = 1, #chars do
    local t = (p + find(ALNUM36, sub(chars, i, i), 1, true) - 1) % 36
    if t == 0 then t = 36 end
    p = (t * 2) % 37
  end
  local c = (37 - p) % 36
  return sub(ALNUM36, c + 1, c + 1)
end

-- shared carrier code ------------------------------------------------------
-- carriers.library(name) -> the value carriers/_lib/<name>.lua returns, loaded
-- as text into its own sandbox environment, a fresh copy for every caller.
local carriers = {
  library = function(name)
    local source = host_carriers.source(name)
    local chunk, err = sandbox_load(source, "@carriers/_lib/" .. name .. ".lua")
    if not chunk then error(err, 2) end
    return chunk()
  end,
}

-- notification intents (rules) ----------------------------------------------
-- notify.email{ template = "delivered", to = "a@b.c", locale = "pt-BR", at = "<UTC ISO>" }
-- notify.webhook{ endpoint = "marketplace", event = "shipment.delivered" }
-- Rules return these; they describe what to send and never send anything.
local notify = {
  email = function(t)
    if type(t) ~= "table" then error("email{...}: expected a table of fields", 2) end
    return { kind = "email", template = t.template, to = t.to, locale = t.locale, at = t.at }
  end,
  webhook = function(t)
    if type(t) ~= "table" then error("webhook{...}: expected a table of fields", 2) end
    return { kind = "webhook", endpoint = t.endpoint, event = t.event, at = t.at }
  end,
}

return { json = json, xml = xml, url = url, failure = failure, carriers = carriers, text = text,
         value = value, time = time_ext, http = http, check = check, hash = hash, notify = notify }
"""#
}
