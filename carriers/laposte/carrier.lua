-- La Poste (France): letters, Colissimo and Chronopost through the Okapi
-- "Suivi v2" API: GET https://api.laposte.fr/suivi/v2/idships/{id[,id...]}
-- with the application key in X-Okapi-Key. Up to 10 comma-separated idShips per
-- call; several ids answer a JSON array (HTTP 207 when their outcomes differ),
-- one id an object. Each element carries its own returnCode/returnMessage.
-- Event dates carry an offset ("2023-03-09T09:38:00+01:00"): French time.

local ZONE = "Europe/Paris"
local DEFAULT_BASE = "https://api.laposte.fr"

---------------------------------------------------------------------------
-- Status table: Suivi v2 event codes (event[].code).
---------------------------------------------------------------------------
local STATUS = {
  ["DR1"] = "info_received",        -- Déclaratif réceptionné: the sender announced it, La Poste does not hold it yet
  ["DR2"] = "info_received",        -- Déclaratif modifié / complété (still data only)
  ["PC1"] = "in_transit",           -- Pris en charge: physical acceptance
  ["PC2"] = "in_transit",           -- Pris en charge dans le pays d'expédition
  ["ET1"] = "in_transit",           -- En cours de traitement / en transit sur nos plateformes
  ["ET2"] = "in_transit",           -- En cours de traitement dans le pays d'expédition
  ["ET3"] = "in_transit",           -- En cours de traitement dans le pays de destination
  ["ET4"] = "in_transit",           -- En cours de traitement dans un pays de transit
  ["EP1"] = "in_transit",           -- En attente de présentation: at the delivery site, not yet out
  ["DO1"] = "in_transit",           -- Entrée en douane (routine customs step)
  ["DO2"] = "in_transit",           -- Sortie de douane
  ["DO3"] = "exception",            -- Retenu en douane: held, needs action (taxes, documents)
  ["PB1"] = "exception",            -- Problème en cours
  ["PB2"] = "in_transit",           -- Problème résolu: moving again
  -- MD2 "Mis en distribution": the wording is "dans le site de livraison... nous le
  -- préparons pour le mettre en livraison"; La Poste emits it on the delivery round day.
  ["MD2"] = "out_for_delivery",
  ["ND1"] = "attempt_failed",       -- Non distribuable / livraison impossible
  ["AG1"] = "available_for_pickup", -- En attente d'être retiré au guichet / point de retrait
  ["RE1"] = "exception",            -- Retourné à l'expéditeur: the return leg starts (not final yet)
  ["DI1"] = "delivered",            -- Distribué
  ["DI2"] = "returned_to_sender",   -- Distribué à l'expéditeur: the return is complete (final)
}
-- Unknown codes: every Suivi event is a scan of a parcel La Poste holds, so
-- in_transit is the honest default (logged so the table can grow).
local DEFAULT_STATUS = "in_transit"

---------------------------------------------------------------------------
-- Small helpers
---------------------------------------------------------------------------
local str = text.clean        -- trimmed text; integral numbers as digits; nil when empty
local tbl = value.table       -- the value when it is a table, else nil
local short = text.short      -- one line, cut at n bytes (default 120)

local norm_code = text.code   -- upper case, no whitespace; nil when empty

-- A Suivi time: UTC instant plus the zone to show it in. Europe/Paris when the
-- printed offset agrees with Paris at that moment, else the printed offset.
local function read_time(text)
  text = str(text)
  if not text then return nil end
  local at = time.parse(text, "iso", ZONE)
  if not at then return nil end
  local wall, offset = text:match("^(%d%d%d%d%-%d%d%-%d%dT[%d:%.]+)([+-]%d%d:?%d%d)$")
  if not offset and text:match("Z$") then wall, offset = text:sub(1, -2), "+00:00" end
  if wall and offset then
    local as_paris = time.parse(wall, "iso", ZONE)
    if as_paris ~= at then
      if #offset == 5 then offset = offset:sub(1, 3) .. ":" .. offset:sub(4) end
      return at, offset
    end
  end
  return at, ZONE
end

local function error_message(body)
  local doc = json.decode(body or "")
  if type(doc) ~= "table" then return nil end
  if doc[1] ~= nil then doc = tbl(doc[1]) or {} end
  return str(doc.returnMessage) or str(doc.message) or str(doc.error_description) or str(doc.error)
end

---------------------------------------------------------------------------
-- Reading one shipment
---------------------------------------------------------------------------
local function read_shipment(sh)
  local events = {}
  for _, ev in ipairs(tbl(sh.event) or {}) do
    if type(ev) == "table" then
      local code = str(ev.code) or ""
      local at, zone = read_time(ev.date)
      if at then
        local status = STATUS[code]
        if not status then
          log.warn("laposte: unknown event code", { code = code })
          status = DEFAULT_STATUS
        end
        events[#events + 1] = {
          occurred_at = at,
          zone = zone,
          status = status,
          code = code,
          description = str(ev.label) or code,
        }
      else
        log.warn("laposte: event without a readable date", { code = code, date = tostring(ev.date) })
      end
    end
  end
  -- Newest first, as La Poste lists them (stable for equal times).
  local idx = {}
  for i, e in ipairs(events) do idx[e] = i end
  table.sort(events, function(a, b)
    if a.occurred_at ~= b.occurred_at then return a.occurred_at > b.occurred_at end
    return idx[a] < idx[b]
  end)
  local result = { events = events }
  if events[1] then result.status = events[1].status else result.status = "pending" end
  local estim = read_time(sh.estimDate)
  if estim and result.status ~= "delivered" then result.estimated_delivery = estim end
  if result.status == "delivered" then
    result.delivered_at = read_time(sh.deliveryDate) or events[1].occurred_at
  end
  return result
end

-- The outcome of one element (a Suivi answer for one idShip).
local function read_element(el)
  local rc = math.tointeger(tonumber(el.returnCode))
  local sh = tbl(el.shipment)
  local id = norm_code(sh and sh.idShip) or norm_code(el.idShip)
  local msg = str(el.returnMessage)
  if sh and (rc == nil or rc == 200 or rc == 207) then
    return id, read_shipment(sh)
  end
  local code = rc and tostring(rc) or nil
  if rc == 404 then return id, failure.not_found(msg or "Numéro de suivi introuvable", code) end
  if rc == 400 then return id, failure.invalid_number(msg or "Numéro de suivi invalide", code) end
  if rc == 401 or rc == 403 then return id, failure.auth(msg or ("returnCode " .. code), code), true end
  if rc == 429 then return id, failure.rate_limited(nil, msg or "too many requests", code), true end
  if rc and rc >= 500 then return id, failure.temporary(msg or ("returnCode " .. code), code), true end
  return id, failure.broken("Suivi element with returnCode " .. tostring(code) .. " and no shipment"
    .. (msg and (": " .. short(msg)) or ""), code), true
end

local function parse_doc(doc, codes)
  if type(doc) ~= "table" then return failure.broken("JSON body is not an object or a list", nil) end
  local list
  if doc.returnCode ~= nil or doc.shipment ~= nil then list = { doc }
  elseif doc[1] ~= nil then list = doc
  else
    if doc.code ~= nil and doc.message ~= nil then   -- Okapi gateway error {code, message}
      local c = str(doc.code)
      if c == "UNAUTHORIZED" or c == "FORBIDDEN" then return failure.auth(str(doc.message) or c, c) end
      if c == "TOO_MANY_REQUESTS" then return failure.rate_limited(nil, str(doc.message) or c, c) end
      return failure.broken("Okapi error " .. tostring(c) .. ": " .. short(doc.message), c)
    end
    local keys = {}
    for k in pairs(doc) do keys[#keys + 1] = tostring(k) end
    table.sort(keys)
    return failure.broken("JSON without 'returnCode'/'shipment' (keys: " .. short(table.concat(keys, ", "), 80) .. ")", nil)
  end

  local requested, order = {}, {}
  for _, c in ipairs(tbl(codes) or {}) do
    local n = norm_code(c)
    if n then requested[n] = c; order[#order + 1] = c end
  end
  local results, count = {}, 0
  for _, el in ipairs(list) do
    if type(el) ~= "table" then return failure.broken("Suivi list holds a " .. type(el) .. ", not an object", nil) end
    local id, outcome, whole = read_element(el)
    local key = id and requested[id]
    if not key and #list == 1 then
      -- A lone answer whose idShip is not one we asked for (La Poste masks the
      -- id of an invalid number): it answers the lone code, or the whole call.
      if #order == 1 then key = order[1]
      elseif whole or outcome.failure ~= nil or #order == 0 and not id then return outcome end
    end
    if whole and #list == 1 then return outcome end
    key = key or id
    if key and results[key] == nil then
      results[key] = outcome
      count = count + 1
    end
  end
  if count == 0 then return failure.broken("Suivi answer without any idShip", nil) end
  return results
end

local function html_title(body)
  local t = str(body:match("<[Tt][Ii][Tt][Ll][Ee][^>]*>([^<]*)<"))
  return t and (" (title: '" .. short(t, 80) .. "')") or ""
end

local function parse(response, codes, ctx)
  if type(response) ~= "table" then return failure.broken("no response", nil) end
  local status = math.tointeger(tonumber(response.status)) or 0
  local body = type(response.body) == "string" and response.body or ""
  if body:sub(1, 3) == "\239\187\191" then body = body:sub(4) end
  local f = http.triage(response, { message = error_message, refused = "La Poste refused the X-Okapi-Key", now = tbl(ctx) and ctx.now })
  if f then return f end
  local first = body:match("^%s*(%S)")
  if not first then return failure.broken("empty body (HTTP " .. status .. ")", nil) end
  if first ~= "{" and first ~= "[" then
    if first == "<" then return failure.broken("expected JSON from La Poste, got markup" .. html_title(body), nil) end
    return failure.broken("expected JSON from La Poste, body starts with '" .. short(body:match("^%s*(.*)"), 40) .. "'", nil)
  end
  local doc, err = json.decode(body)
  if doc == nil then return failure.broken("body is not valid JSON: " .. short(tostring(err)), nil) end
  local out = parse_doc(doc, codes)
  if (status >= 200 and status < 300) or status == 400 or status == 404 then return out end
  if out.failure == nil and status ~= 0 then return out end
  return failure.broken("HTTP " .. status .. ": " .. short(out.message or ""), nil)
end

---------------------------------------------------------------------------
-- Validation
---------------------------------------------------------------------------

local function validate(code)
  if type(code) ~= "string" then return false, "tracking number must be text" end
  local s = code:gsub("%s+", ""):upper()
  if s:match("^%u%u%d%d%d%d%d%d%d%d%d%u%u$") then
    -- UPU S10 (international letters and parcels, Colissimo/Chronopost international).
    return check.verdict(check.s10(s:sub(3, 10)), s:byte(11) - 48, "S10 check digit")
  end
  if not s:match("^%w+$") then return false, "only letters and digits are allowed" end
  -- Suivi v2 accepts idShips of 11 to 15 characters (Colissimo 6A..., Lettre
  -- suivie 1K..., Chronopost XY...FR); those carry no public check digit.
  if #s < 11 or #s > 15 then return false, ("expected 11 to 15 characters, got %d"):format(#s) end
  if not s:match("%d") then return false, "must contain digits" end
  return true
end

local function request(codes, config, ctx)
  config = tbl(config) or {}
  local list = {}
  for _, c in ipairs(tbl(codes) or {}) do
    local n = norm_code(c)
    if n then list[#list + 1] = url.escape(n) end
  end
  local key = str(config.api_key) or str(config.okapi_key)
  if not key then error("laposte: config.api_key (the Okapi X-Okapi-Key) is required", 0) end
  return {
    method = "GET",
    url = http.base_url(config, DEFAULT_BASE) .. "/suivi/v2/idships/" .. table.concat(list, ",") .. "?" .. url.query({ lang = str(config.lang) or "fr_FR" }),
    headers = { ["Accept"] = "application/json", ["X-Okapi-Key"] = key },
    timeout = 30,
  }
end

return {
  id = "laposte",
  name = "La Poste / Colissimo",
  api = 1,
  hosts = { "api.laposte.fr" },
  tracking_url = "https://www.laposte.fr/outils/suivre-vos-envois?code={code}",
  limits = { concurrency = 2, per_second = 5, batch = 10 },
  validate = check.guard(validate),
  request = request,
  parse = failure.guard(parse, "laposte script"),
}
