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

local str = text.clean        -- trimmed text; integral numbers as digits; nil when empty
local tbl = value.table       -- the value when it is a table, else nil
local short = text.short      -- one line, cut at n bytes (default 120)

local function status_for(code)
  if not code then return nil end
  local s = STATUS[code]
  if s then return s end
  local situation = code:match("^([^/]+)")
  return situation and STATUS[situation] or nil
end

---------------------------------------------------------------------------
-- Parsing
---------------------------------------------------------------------------

local norm_code = text.code   -- upper case, no whitespace; nil when empty

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
  local requested = text.codes(codes)
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
  local f = http.triage(response, { message = error_message, refused = "GEODIS refused the credentials", wait = 60,
                                   now = tbl(ctx) and ctx.now })
  if f then return f end
  local status = math.tointeger(tonumber(response.status)) or 0
  local body = type(response.body) == "string" and response.body or ""
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

local function request(codes, config, ctx)
  config = tbl(config) or {}
  local login, key = str(config.login), str(config.api_key)
  if not login or not key then
    error("geodis: config.login and config.api_key are required (Espace Client web-service login and key)", 0)
  end
  local code = norm_code(tbl(codes) and codes[1]) or ""
  local body = json.encode({ noSuivi = code })
  local lang = str(config.language) or "fr"
  local stamp = string.format("%d", (time.epoch(tbl(ctx) and ctx.now) or 0) * 1000)   -- milliseconds
  local signature = hash.sha256(table.concat({ key, login, stamp, lang, SERVICE, body }, ";"))
  return {
    method = "POST",
    url = http.base_url(config, DEFAULT_BASE) .. "/" .. SERVICE,
    headers = {
      ["Content-Type"] = "application/json",
      ["Accept"] = "application/json",
      ["X-GEODIS-Service"] = table.concat({ login, stamp, lang, signature }, ";"),
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
  validate = check.guard(validate),
  request = request,
  parse = failure.guard(parse, "geodis script"),
}
