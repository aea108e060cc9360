-- GEODIS (France): Espace Client web services, "zoomclient/recherche-envoi".
--
-- POST {base}/api/zoomclient/recherche-envoi with a JSON body {"noSuivi": ...}.
-- GEODIS authenticates each call with the header
--   X-GEODIS-Service: <login>;<timestamp ms>;<lang>;<sha256 hex>
-- where the hash is sha256("<api_key>;<login>;<timestamp>;<lang>;<service>;<body>").
-- The answer is {"ok": true|false, "codeErreur", "texteErreur", "contenu": {...}};
-- events (contenu.listSuivis) are newest first, in French wall time.

local ZONE = "Europe/Paris"
local DEFAULT_BASE = "https://espace-client.geodis.com/services"
local SERVICE = "api/zoomclient/recherche-envoi"

---------------------------------------------------------------------------
-- Status table: codeSituationJustification is "<situation>/<justification>".
-- The full pair is looked up first, then the situation alone.
---------------------------------------------------------------------------
local STATUS = {
  ["LIV"] = "delivered",            -- Livraison (confirmée)
  -- SOL = "soldé": GEODIS has closed the shipment at destination (the file is
  -- settled). Karrio reports a shipment whose latest event is SOL/REO as
  -- delivered, so the whole SOL family is treated as the final delivery state.
  ["SOL"] = "delivered",
  ["COM"] = "info_received",        -- Commande / données transmises (pre-advice), no scan yet
  ["PCH"] = "in_transit",           -- Prise en charge: picked up from the shipper
  ["EXP"] = "in_transit",           -- Expédié from the origin agency
  ["AAR"] = "in_transit",           -- Arrivée à l'agence de destination
  ["QAI"] = "in_transit",           -- À quai (on the dock at an agency)
  ["MLV"] = "out_for_delivery",     -- Mise en livraison
  ["MLI"] = "out_for_delivery",     -- Mise en livraison (variant)
  ["ECH"] = "attempt_failed",       -- Échec de livraison
  ["AVI"] = "attempt_failed",       -- Avisé: recipient absent, notice left
  ["REL"] = "available_for_pickup", -- Disponible en point relais
  ["BRS"] = "available_for_pickup", -- Bureau restant: to collect at the agency
  ["RET"] = "returned_to_sender",   -- Retour expéditeur
  -- RST = "restant": held at the agency pending instructions (address problem,
  -- refused, closed...). It needs someone to act, hence exception.
  ["RST"] = "exception",
  ["LIT"] = "exception",            -- Litige (damage, loss claim)
  ["AVA"] = "exception",            -- Avarie (damaged)
}

local function str(v)
  if type(v) == "number" then
    local i = math.tointeger(v)
    return i and tostring(i) or tostring(v)
  end
  if type(v) ~= "string" then return nil end
  v = v:match("^%s*(.-)%s*$")
  if v == "" then return nil end
  return v
end

local function tbl(v) if type(v) == "table" then return v end return nil end

local function short(s, n)
  s = tostring(s or ""):gsub("%s+", " ")
  n = n or 120
  if #s > n then return s:sub(1, n) .. "..." end
  return s
end

local function status_for(code)
  if not code then return nil end
  local s = STATUS[code]
  if s then return s end
  local situation = code:match("^([^/]+)")
  return situation and STATUS[situation] or nil
end

---------------------------------------------------------------------------
-- SHA-256 (the host has no hash helper; GEODIS signs each request with it)
---------------------------------------------------------------------------
local K = {
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

local function sha256_hex(msg)
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
      local t1 = (hh + S1 + ch + K[i + 1] + w[i]) & M32
      local S0 = rotr(a, 2) ~ rotr(a, 13) ~ rotr(a, 22)
      local maj = (a & b) ~ (a & c) ~ (b & c)
      local t2 = (S0 + maj) & M32
      hh, g, f, e, d, c, b, a = g, f, e, (d + t1) & M32, c, b, a, (t1 + t2) & M32
    end
    h[1] = (h[1] + a) & M32; h[2] = (h[2] + b) & M32; h[3] = (h[3] + c) & M32; h[4] = (h[4] + d) & M32
    h[5] = (h[5] + e) & M32; h[6] = (h[6] + f) & M32; h[7] = (h[7] + g) & M32; h[8] = (h[8] + hh) & M32
  end
  local out = {}
  for i = 1, 8 do out[i] = string.format("%08x", h[i]) end
  return table.concat(out)
end

---------------------------------------------------------------------------
-- Parsing
---------------------------------------------------------------------------

local norm_code = text.code -- upper case, no whitespace; nil when empty

local function event_of(s)
  s = tbl(s)
  if not s then return nil, "an entry of listSuivis is not an object" end
  local date = str(s.dateSuivi)
  if not date then return nil, "an event without dateSuivi" end
  local hour = str(s.heureSuivi) or str(s.heureSuiviFrs)
  local at
  if hour then
    if #hour == 5 then hour = hour .. ":00" end
    at = time.parse(date .. " " .. hour, "%Y-%m-%d %H:%M:%S", ZONE)
  else
    at = time.parse(date, "%Y-%m-%d", ZONE)
  end
  if not at then return nil, "unreadable event time '" .. short(date .. " " .. (hour or ""), 40) .. "'" end
  local code = str(s.codeSituationJustification) or str(s.libelleCourtSuivi) or ""
  local ev = {
    occurred_at = at,
    zone = ZONE,
    code = code,
    description = str(s.libelleSuivi) or str(s.libelleCourtSuivi) or code,
    status = status_for(code) or "in_transit",
  }
  if code ~= "" and not status_for(code) then log.warn("geodis: unknown situation code", { code = code }) end
  local facility = str(s.libelleCentre) or str(s.codeSa)
  if facility then ev.location = { facility = facility } end
  return ev
end

local function shipment(c)
  local list = c.listSuivis
  if list ~= nil and type(list) ~= "table" then return nil, failure.broken("'listSuivis' is not a list", nil) end
  local events = {}
  for i, s in ipairs(list or {}) do
    local ev, why = event_of(s)
    if not ev then return nil, failure.broken(why, nil) end
    events[i] = ev
  end
  local out = { events = events }
  if #events > 0 then out.status = events[1].status else out.status = "info_received" end
  local eta = str(c.dateLivraisonPrevue)
  if eta then out.estimated_delivery = time.parse(eta:sub(1, 10), "%Y-%m-%d", "UTC") end
  if out.status == "delivered" and #events > 0 then out.delivered_at = events[1].occurred_at end
  return out
end

local function error_failure(doc)
  local code = str(doc.codeErreur)
  local text = str(doc.texteErreur) or "GEODIS returned ok=false without texteErreur"
  local lower = text:lower()
  if lower:find("aucun", 1, true) or lower:find("introuvable", 1, true) or lower:find("not found", 1, true) then
    return failure.not_found(text, code)
  end
  if lower:find("authentif", 1, true) or lower:find("habilit", 1, true) or lower:find("signature", 1, true) then
    return failure.auth(text, code)
  end
  if lower:find("invalide", 1, true) or lower:find("format", 1, true) then
    return failure.invalid_number(text, code)
  end
  -- Any other refusal is about this number (GEODIS answers ok=false per request).
  return failure.not_found(text, code)
end

local function from_doc(doc, codes)
  if type(doc) ~= "table" then return failure.broken("JSON body is not an object", nil) end
  if doc.ok == false then
    local f = error_failure(doc)
    local list = tbl(codes) or {}
    if #list == 0 then return f end
    local out = {}
    for _, c in ipairs(list) do if type(c) == "string" then out[c] = f end end
    return out
  end
  if doc.ok ~= true then return failure.broken("JSON without 'ok' (not a GEODIS web-service answer)", nil) end
  local contenu = tbl(doc.contenu)
  if not contenu then
    local f = failure.not_found("GEODIS found no shipment for this number", nil)
    local out = {}
    for _, c in ipairs(tbl(codes) or {}) do if type(c) == "string" then out[c] = f end end
    if next(out) == nil then return failure.broken("ok=true without 'contenu'", nil) end
    return out
  end
  local list = contenu
  if contenu.noSuivi == nil and contenu[1] ~= nil then list = contenu else list = { contenu } end
  local requested = {}
  for _, c in ipairs(tbl(codes) or {}) do
    local n = norm_code(c)
    if n then requested[n] = c end
  end
  local results, n = {}, 0
  for _, c in ipairs(list) do
    c = tbl(c)
    if c then
      local num = norm_code(str(c.noSuivi)) or norm_code(str(c.noRecepisse))
      if not num and #list == 1 and #(tbl(codes) or {}) == 1 then num = norm_code(codes[1]) end
      if num then
        local r, f = shipment(c)
        results[requested[num] or num] = r or f
        n = n + 1
      end
    end
  end
  if n == 0 then return failure.broken("'contenu' has no shipment with a noSuivi", nil) end
  return results
end

local function error_message(body)
  local doc = json.decode(body)
  if type(doc) == "table" then return str(doc.texteErreur) or str(doc.message) end
  return nil
end

local function parse(response, codes, ctx)
  if type(response) ~= "table" then return failure.broken("no response", nil) end
  local status = math.tointeger(tonumber(response.status)) or 0
  local body = type(response.body) == "string" and response.body or ""
  if status == 401 or status == 403 then
    return failure.auth(error_message(body) or ("HTTP " .. status .. ": GEODIS refused the credentials"), nil)
  end
  if status == 429 then
    local h = tbl(response.headers) or {}
    return failure.rate_limited(tonumber(h["retry-after"]) or 60, "HTTP 429: too many requests", nil)
  end
  if status >= 500 or status == 408 then return failure.temporary("HTTP " .. status, nil) end
  if body:sub(1, 3) == "\239\187\191" then body = body:sub(4) end
  local first = body:match("^%s*(%S)")
  if not first then return failure.broken("empty body", nil) end
  if first ~= "{" then
    local title = body:match("<[Tt][Ii][Tt][Ll][Ee][^>]*>([^<]*)<")
    return failure.broken("expected JSON from GEODIS, got '" .. short(title or body, 60) .. "'", nil)
  end
  local doc, err = json.decode(body)
  if doc == nil then return failure.broken("body is not valid JSON: " .. short(err), nil) end
  local out = from_doc(doc, codes)
  if status >= 200 and status < 300 then return out end
  if out.failure == nil then return out end
  return failure.broken("HTTP " .. status .. ": " .. (error_message(body) or "unexpected answer"), nil)
end

---------------------------------------------------------------------------
-- Contract functions
---------------------------------------------------------------------------

-- GEODIS tracking numbers (noSuivi) are 12 characters of capitals and digits
-- (e.g. 1G6CPLT3JB5U); the shipper's receipt number (noRecepisse) is 8 digits.
-- Neither has a published check digit.
local function validate(code)
  if type(code) ~= "string" then return false, "tracking number must be text" end
  local s = code:gsub("%s+", ""):upper()
  if s:match("^%d%d%d%d%d%d%d%d$") then return true end
  if #s ~= 12 then return false, ("expected 12 characters (e.g. 1G6CPLT3JB5U), got %d"):format(#s) end
  if not s:match("^[%u%d]+$") then return false, "only letters and digits are allowed" end
  if not s:match("%u") or not s:match("%d") then return false, "a GEODIS number mixes letters and digits" end
  return true
end

local function base_url(config)
  local b = str(tbl(config) and config.base_url) or DEFAULT_BASE
  return (b:gsub("/+$", ""))
end

local function ms_from_iso(now)
  local y, mo, d, h, mi, s = tostring(now or ""):match("^(%d+)-(%d+)-(%d+)T(%d+):(%d+):(%d+)")
  if not y then return "0" end
  y, mo, d = tonumber(y), tonumber(mo), tonumber(d)
  -- days from civil (Howard Hinnant)
  if mo <= 2 then y = y - 1 end
  local era = (y >= 0 and y or y - 399) // 400
  local yoe = y - era * 400
  local doy = (153 * (mo + (mo > 2 and -3 or 9)) + 2) // 5 + d - 1
  local doe = yoe * 365 + yoe // 4 - yoe // 100 + doy
  local days = era * 146097 + doe - 719468
  return string.format("%d", ((days * 24 + tonumber(h)) * 60 + tonumber(mi)) * 60000 + tonumber(s) * 1000)
end

local function request(codes, config, ctx)
  config = tbl(config) or {}
  local login, key = str(config.login), str(config.api_key)
  if not login or not key then
    error("geodis: config.login and config.api_key are required (Espace Client web-service login and key)", 0)
  end
  local code = norm_code(tbl(codes) and codes[1]) or ""
  local body = json.encode({ noSuivi = code })
  local lang = str(config.language) or "fr"
  local stamp = ms_from_iso(tbl(ctx) and ctx.now)
  local hash = sha256_hex(table.concat({ key, login, stamp, lang, SERVICE, body }, ";"))
  return {
    method = "POST",
    url = base_url(config) .. "/" .. SERVICE,
    headers = {
      ["Content-Type"] = "application/json",
      ["Accept"] = "application/json",
      ["X-GEODIS-Service"] = table.concat({ login, stamp, lang, hash }, ";"),
    },
    body = body,
    timeout = 30,
  }
end

return {
  id = "geodis",
  name = "GEODIS",
  api = 1,
  hosts = { "espace-client.geodis.com" },
  tracking_url = "https://espace-client.geodis.com/services/suivi?noSuivi={code}",
  limits = { concurrency = 2, per_second = 5, batch = 1 },
  validate = function(code)
    local ok, valid, reason = pcall(validate, code)
    if not ok then return false, "cannot check this number" end
    return valid, reason
  end,
  request = request,
  parse = function(...)
    local ok, result = pcall(parse, ...)
    if ok then return result end
    return failure.broken("geodis script could not read the response: " .. tostring(result), nil)
  end,
}
