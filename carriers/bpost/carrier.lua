-- bpost (Belgium).
--
-- Shipping Manager "trackedmail" tracking info (REST, XML):
--   GET https://api-parcel.bpost.be/services/trackedmail/item/{itemCode}/trackingInfo
--   Authorization: Basic base64(config.account_id .. ":" .. config.passphrase)
--   Accept: application/vnd.bpost.shm-trackingInfo-v1+XML
-- One item per call. The answer is <itemTracking> with stateInfo[] listed
-- oldest first (time with the Belgian offset, stateCode, stateDescription);
-- errors come as <systemException> / <businessException> (message, code).
-- bpost works in Belgian time.

local ZONE = "Europe/Brussels"
local DEFAULT_BASE = "https://api-parcel.bpost.be"

---------------------------------------------------------------------------
-- Status table: bpost stateCode -> normalized status. The description is
-- "<Category> - <detail>"; the category words are in the comments.
---------------------------------------------------------------------------
local STATUS = {
  ["A00"] = "info_received",        -- Announced: the sender's data reached bpost, no parcel yet
  ["P00"] = "in_transit",           -- ReceivedByBpost / picked up: first physical scan
  ["T00"] = "in_transit",           -- Sorted - sorted_out
  ["T01"] = "in_transit",           -- Sorted - in transit between centres
  -- L00 "BoundToRound - out_for_distribution": loaded on the postman's round today.
  ["L00"] = "out_for_delivery",
  ["U01"] = "delivered",            -- DistributedNormally - regular
  ["U02"] = "delivered",            -- DistributedNormally - to a neighbour / mailbox
  -- Delivered into a pickup point or parcel locker: the addressee must collect it.
  ["K00"] = "available_for_pickup", -- InPickupPoint / AtParcelLocker
  ["V00"] = "attempt_failed",       -- NotDistributed - addressee absent, notice left
  ["R00"] = "exception",            -- ReturnToSender started (the return leg; not final)
  ["R01"] = "returned_to_sender",   -- ReturnedToSender - delivered back to the sender (final)
}
-- Unknown codes: the category word of the description decides, else in_transit
-- (every stateInfo is a scan of an item bpost holds).
local CATEGORY = {
  announced = "info_received",
  sorted = "in_transit",
  boundtoround = "out_for_delivery",
  distributednormally = "delivered",
  inpickuppoint = "available_for_pickup",
  notdistributed = "attempt_failed",
  returnedtosender = "returned_to_sender",
}
local DEFAULT_STATUS = "in_transit"

---------------------------------------------------------------------------
-- Helpers
---------------------------------------------------------------------------
local trim = text.clean       -- trimmed text; nil when empty
local short = text.short      -- one line, cut at n bytes (default 120)

local function status_for(code, description)
  local s = STATUS[code]
  if s then return s end
  local cat = (description or ""):match("^%s*(%a+)")
  s = cat and CATEGORY[cat:lower()]
  if s then return s end
  log.warn("unknown bpost state code", { code = code, description = description })
  return DEFAULT_STATUS
end

---------------------------------------------------------------------------
-- validate: bpack / Shipping Manager barcodes are 24 digits (usually
-- starting "32"); bpost's 13-character international items are S10
-- (2 letters, 8 digits, check digit, "BE").
---------------------------------------------------------------------------
local function validate(code)
  if type(code) ~= "string" then return false, "not a string" end
  local c = code:upper():gsub("%s+", "")
  local serial, digit = c:match("^%u%u(%d%d%d%d%d%d%d%d)(%d)BE$")
  if serial then
    return check.verdict(check.s10(serial), tonumber(digit))
  end
  if c:match("^%u%u%d+%u%u$") then return false, "format: a bpost S10 number is 2 letters, 9 digits, BE" end
  if not c:match("^%d+$") then return false, "letters: a bpost barcode is 24 digits or an S10 number ending in BE" end
  if #c ~= 24 then return false, "length: a bpost barcode has 24 digits" end
  return true
end

local function request(codes, config, ctx)
  config = config or {}
  local headers = { Accept = "application/vnd.bpost.shm-trackingInfo-v1+XML" }
  local account, pass = trim(config.account_id), trim(config.passphrase)
  if account and pass then
    headers.Authorization = "Basic " .. base64.encode(account .. ":" .. pass)
  end
  return {
    method = "GET",
    url = http.base_url(config, DEFAULT_BASE) .. "/services/trackedmail/item/" .. url.escape(codes[1] or "") .. "/trackingInfo",
    headers = headers,
    timeout = 30,
  }
end

local function parse(response, codes, ctx)
  local body = response.body or ""
  local doc = xml.parse(body)
  if not doc then
    local f = http.triage(response)
    if f then return f end
    return failure.broken("expected bpost XML, got: " .. short(body, 80))
  end
  local st = response.status or 0

  if doc.name == "systemException" then
    -- bpost's internal error page ("try again in a few moments"): HTTP 500 in live use.
    local msg = doc:text("message") or "bpost system exception"
    local code = (st >= 400) and tostring(st) or "500"
    if st == 401 or st == 403 then return failure.auth(msg, code) end
    return failure.temporary(msg, code)
  end
  if doc.name == "businessException" or doc.name == "unknownItemException" then
    local msg = doc:text("message") or "bpost business exception"
    local code = doc:text("code")
    if st == 401 or st == 403 then return failure.auth(msg, code) end
    local lower = msg:lower()
    local f
    if lower:find("not found", 1, true) or lower:find("unknown", 1, true) or lower:find("no item", 1, true)
      or st == 404 or doc.name == "unknownItemException" then
      f = failure.not_found(msg, code)
    else
      f = failure.invalid_number(msg, code)
    end
    if codes[1] then return { [codes[1]] = f } end
    return f
  end
  if doc.name ~= "itemTracking" then
    local f = http.triage(response)
    if f then return f end
    return failure.broken("expected <itemTracking>, got <" .. tostring(doc.name) .. ">")
  end

  local number = doc:text("itemCode") or codes[1]
  if not number then return failure.broken("itemTracking without itemCode") end
  local events = {}
  for _, si in ipairs(doc:children("stateInfo")) do
    local when = si:text("time")
    local at = when and time.parse(when, "iso", ZONE)
    if not at then return failure.broken("bpost stateInfo with unreadable time '" .. short(when, 40) .. "'") end
    local code = si:text("stateCode") or ""
    local description = si:text("stateDescription") or ""
    events[#events + 1] = {
      occurred_at = at,
      zone = ZONE,
      status = status_for(code, description),
      code = code,
      description = description,
    }
  end
  if #events == 0 then
    return { [number] = failure.not_found("no tracking events for " .. number) }
  end
  local result = { events = events }
  -- bpost lists oldest first: the last stateInfo is the current state.
  local newest = events[#events]
  if newest.status == "delivered" then
    local dt = doc:text("deliveryTime")
    result.delivered_at = (dt and time.parse(dt, "iso", ZONE)) or newest.occurred_at
  else
    -- Before delivery, deliveryTime is bpost's planned delivery moment.
    local dt = doc:text("deliveryTime")
    local eta = dt and time.parse(dt, "iso", ZONE)
    if eta then result.estimated_delivery = eta end
  end
  return { [number] = result }
end

return {
  id = "bpost",
  name = "bpost",
  api = 1,
  hosts = { "api-parcel.bpost.be" },
  tracking_url = "https://track.bpost.cloud/btr/web/#/search?itemCode={code}&lang=EN",
  limits = { concurrency = 4, per_second = 5, batch = 1 },
  validate = validate,
  request = request,
  parse = parse,
}
