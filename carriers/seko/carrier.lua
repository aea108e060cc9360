-- SEKO Logistics (Omni Parcel platform).
--
-- Tracking: POST https://api.omniparcel.com/labels/statusv2 with a JSON list of
-- consignment numbers; the access key goes in the Authorization header (the
-- Omni Parcel docs also name it access_key; both are sent). The answer is a
-- JSON list with one {ConsignmentNo, Status, Events[]} per number. Events come
-- oldest first; we return them newest first. Each event has SEKO's normalized
-- OmniCode ("OP-72") beside the last-mile carrier's own Code; OmniCode is the
-- event code here. EventDT has no offset and SEKO does not document its zone,
-- so times are read and shown as UTC (local time == the printed time).
-- Validation errors come back as {"Errors": [{Property, Message, Key, Value}]}.

local ZONE = "UTC"
local DEFAULT_BASE = "https://api.omniparcel.com"

---------------------------------------------------------------------------
-- Status table: OmniCode → status (SEKO's published OP list).
---------------------------------------------------------------------------
local STATUS = {
  -- Data only: a label/number exists, SEKO or the carrier does not hold the parcel yet.
  ["OP-1"] = "info_received",        -- Tracking number allocated & order ready / Pre-advice received
  ["OP-8"] = "info_received",        -- Manifest received by carrier (data entered, not handed over)
  ["OP-9"] = "info_received",        -- Not yet received by carrier
  ["OP-12"] = "info_received",       -- Collection request received by carrier
  -- Moving.
  ["OP-3"] = "in_transit",           -- Processed through Export Hub
  ["OP-4"] = "in_transit",           -- International transit / handed over to the delivery carrier
  ["OP-5"] = "in_transit",           -- Customs cleared
  ["OP-7"] = "in_transit",           -- Picked up by delivery courier
  ["OP-10"] = "in_transit",          -- Received by carrier
  ["OP-11"] = "in_transit",          -- Received by carrier, no manifest sent (it holds the parcel)
  ["OP-14"] = "in_transit",          -- Parcel received and accepted
  ["OP-18"] = "in_transit",          -- In transit
  ["OP-20"] = "in_transit",          -- Sub-contractor update
  ["OP-22"] = "in_transit",          -- Received by sub-contractor
  ["OP-31"] = "in_transit",          -- Information
  ["OP-32"] = "in_transit",          -- Information
  ["OP-33"] = "in_transit",          -- Collected from sender
  ["OP-47"] = "in_transit",          -- Processed through sorting facility
  ["OP-48"] = "in_transit",          -- With delivery courier
  ["OP-50"] = "in_transit",          -- Arrived at courier processing facility
  ["OP-51"] = "in_transit",          -- Departed courier processing facility
  ["OP-54"] = "in_transit",          -- Transferred to collection point (not yet ready for pickup)
  ["OP-56"] = "in_transit",          -- Transferred to delivery provider
  ["OP-78"] = "in_transit",          -- Flight arrived
  ["OP-79"] = "in_transit",          -- In transit / left the parcel center
  ["OP-80"] = "in_transit",          -- Reshipped
  ["OP-81"] = "in_transit",          -- Flight departed
  ["OP-82"] = "in_transit",          -- Inbound freight received
  ["OP-89"] = "in_transit",          -- Collected from sender
  ["OP-16"] = "in_transit",          -- Parcel delayed: late, still moving
  ["OP-13"] = "in_transit",          -- Misdirected (being re-routed)
  ["OP-35"] = "in_transit",          -- Mis-sorted by carrier (being re-routed)
  -- Last mile.
  ["OP-21"] = "out_for_delivery",    -- Out for delivery / expected to be delivered during the day
  ["OP-19"] = "available_for_pickup", -- Awaiting collection
  ["OP-25"] = "available_for_pickup", -- Customer to collect from carrier
  ["OP-42"] = "available_for_pickup", -- Awaiting collection
  ["OP-24"] = "attempt_failed",      -- Attempted delivery - receiver carded
  ["OP-27"] = "attempt_failed",      -- Attempted delivery - customer not known at address
  ["OP-28"] = "attempt_failed",      -- Attempted delivery - refused by customer
  ["OP-37"] = "attempt_failed",      -- Attempted delivery - no access to receiver's address
  ["OP-38"] = "attempt_failed",      -- Attempted delivery - identification failed
  ["OP-45"] = "attempt_failed",      -- Attempted delivery
  ["OP-84"] = "attempt_failed",      -- Recipient not available
  ["OP-86"] = "attempt_failed",      -- Attempted delivery
  ["OP-30"] = "attempt_failed",      -- Non delivery
  ["OP-71"] = "delivered",           -- Delivered in part (the consignment's delivery has happened)
  ["OP-72"] = "delivered",           -- Delivered
  ["OP-73"] = "delivered",           -- Delivered to neighbour
  ["OP-74"] = "delivered",           -- Delivered - authority to leave / safe drop
  ["OP-75"] = "delivered",           -- Delivered - parcel collected
  ["OP-76"] = "delivered",           -- Delivered to locker / collection point
  ["OP-77"] = "delivered",           -- Delivered to alternate delivery point
  -- Held, lost, damaged, needs action.
  ["OP-2"] = "exception",            -- Held at Export Hub
  ["OP-6"] = "exception",            -- Customs held for inspection and clearance
  ["OP-15"] = "exception",           -- Parcel lost
  ["OP-17"] = "exception",           -- Parcel damaged
  ["OP-23"] = "exception",           -- Invalid / insufficient address
  ["OP-26"] = "exception",           -- Held by carrier
  ["OP-34"] = "exception",           -- Cancelled
  ["OP-36"] = "exception",           -- Delivery arranged with receiver (held for the new arrangement)
  ["OP-39"] = "exception",           -- Package repacked
  ["OP-40"] = "exception",           -- Package disposed
  ["OP-41"] = "exception",           -- Incorrect details declared by sender
  ["OP-43"] = "exception",           -- Not collected from store
  ["OP-44"] = "exception",           -- Selected for redelivery
  ["OP-46"] = "exception",           -- Customer enquiry lodged
  ["OP-49"] = "exception",           -- Held by delivery courier
  ["OP-52"] = "exception",           -- Redirection requested
  ["OP-53"] = "in_transit",          -- Parcel redirected (moving to the new address)
  ["OP-67"] = "exception",           -- RTS - cancelled order
  ["OP-70"] = "exception",           -- Parcel blocked
  ["OP-83"] = "exception",           -- Delivery exception
  ["OP-87"] = "exception",           -- Aged parcel - high value unpaid
  ["OP-88"] = "exception",           -- Held at Export Hub - additional payment required
  ["OP-91"] = "exception",           -- Parcel blocked - declared LIT
  ["OP-92"] = "exception",           -- RTS - destroy
  -- Return to sender: the return leg is an exception until SEKO reports it received back.
  ["OP-29"] = "exception",           -- Return to sender (starts)
  ["OP-55"] = "exception",           -- Attempted delivery - returned to sender (starts)
  ["OP-60"] = "exception",           -- RTS - fraudulent
  ["OP-63"] = "exception",           -- RTS - high value rejected
  ["OP-66"] = "exception",           -- Return to sender (starts)
  ["OP-85"] = "exception",           -- RTS - in transit
  ["OP-94"] = "exception",           -- RTS consolidated
  ["OP-57"] = "returned_to_sender",  -- RTS received - authorised return
  ["OP-58"] = "returned_to_sender",  -- RTS received - cancelled order
  ["OP-59"] = "returned_to_sender",  -- RTS received - card left, never collected
  ["OP-61"] = "returned_to_sender",  -- RTS received - invalid or insufficient address
  ["OP-62"] = "returned_to_sender",  -- RTS received - no reason given
  ["OP-64"] = "returned_to_sender",  -- RTS received - refused
  ["OP-65"] = "returned_to_sender",  -- RTS received - unclaimed
  ["OP-68"] = "returned_to_sender",  -- RTS received
  ["OP-69"] = "returned_to_sender",  -- RTS received - damaged parcel
  ["OP-90"] = "returned_to_sender",  -- Return processed
}
-- Unknown OmniCodes: SEKO adds codes; an event is a scan of a moving parcel.
local DEFAULT_STATUS = "in_transit"

---------------------------------------------------------------------------
-- Helpers
---------------------------------------------------------------------------
local str = text.clean        -- trimmed text; integral numbers as digits; nil when empty
local tbl = value.table       -- the value when it is a table, else nil
local short = text.short      -- one line, cut at n bytes (default 120)

local norm_code = text.code   -- upper case, no whitespace; nil when empty

local function read_time(text)
  text = str(text)
  if not text then return nil end
  return (time.parse(text, "iso", ZONE))
end

-- "Egham, Surrey,GB" → city Egham, state Surrey, country GB.
local function read_location(text)
  text = str(text)
  if not text then return nil end
  local parts = {}
  for p in text:gmatch("[^,]+") do
    local s = str(p)
    if s then parts[#parts + 1] = s end
  end
  if #parts == 0 then return nil end
  local loc = {}
  if #parts[#parts] == 2 and parts[#parts]:match("^%a%a$") then
    loc.country = parts[#parts]:upper()
    parts[#parts] = nil
  end
  if #parts == 1 then loc.city = parts[1]
  elseif #parts == 2 then loc.city, loc.state = parts[1], parts[2]
  elseif #parts >= 3 then
    loc.facility = table.concat(parts, ", ", 1, #parts - 2)
    loc.city, loc.state = parts[#parts - 1], parts[#parts]
  end
  return loc
end

-- {"Errors": [...]} → message text (Message of each, joined).
local function errors_text(errs)
  local msgs = {}
  for _, e in ipairs(tbl(errs) or {}) do
    if type(e) == "table" then
      local m = str(e.Message) or str(e.message)
      if m then msgs[#msgs + 1] = m end
    elseif str(e) then
      msgs[#msgs + 1] = str(e)
    end
  end
  if #msgs == 0 then return nil end
  return table.concat(msgs, "; ")
end

local function error_message(body)
  local doc = json.decode(body or "")
  if type(doc) ~= "table" then return nil end
  return errors_text(doc.Errors) or str(doc.Message) or str(doc.message) or str(doc.error)
end

---------------------------------------------------------------------------
-- Reading
---------------------------------------------------------------------------
local function read_consignment(c)
  local events, idx = {}, {}
  for i, ev in ipairs(tbl(c.Events) or {}) do
    if type(ev) == "table" then
      local at = read_time(ev.EventDT)
      local code = str(ev.OmniCode) or str(ev.Code) or ""
      if at then
        local status = STATUS[code]
        if not status then
          log.warn("seko: unknown OmniCode", { code = code })
          status = DEFAULT_STATUS
        end
        local e = {
          occurred_at = at,
          zone = ZONE,
          status = status,
          code = code,
          description = str(ev.Description) or code,
          location = read_location(ev.Location),
        }
        local sub = str(ev.Code)
        if sub and sub ~= code then e.subcode = sub end   -- the last-mile carrier's own code
        events[#events + 1] = e
        idx[e] = i
      else
        log.warn("seko: event without a readable EventDT", { code = code })
      end
    end
  end
  -- Newest first; SEKO lists oldest first, so equal times keep reverse order.
  table.sort(events, function(a, b)
    if a.occurred_at ~= b.occurred_at then return a.occurred_at > b.occurred_at end
    return idx[a] > idx[b]
  end)
  local result = { events = events }
  result.status = events[1] and events[1].status or "pending"
  local delivered = read_time(c.Delivered)
  if delivered and result.status ~= "delivered" and result.status ~= "returned_to_sender" then
    -- A Delivered date without a delivery scan: trust the consignment summary.
    result.status = "delivered"
  end
  if result.status == "delivered" then
    result.delivered_at = delivered
    for _, e in ipairs(events) do
      if e.status == "delivered" then result.delivered_at = result.delivered_at or e.occurred_at; break end
    end
  end
  return result
end

local function parse_doc(doc, codes)
  if type(doc) ~= "table" then return failure.broken("JSON body is not a list or an object", nil) end
  if doc.Errors ~= nil then
    local msg = errors_text(doc.Errors) or "SEKO returned Errors without a message"
    -- Errors about the number itself → invalid number; anything else means our
    -- request no longer matches the API.
    local low = msg:lower()
    if low:find("consignment", 1, true) or low:find("tracking", 1, true) or low:find("connote", 1, true) then
      if low:find("not found", 1, true) or low:find("does not exist", 1, true) then
        return failure.not_found(msg, "Error")
      end
      return failure.invalid_number(msg, "Error")
    end
    if low:find("access key", 1, true) or low:find("unauthori", 1, true) or low:find("authoriz", 1, true) then
      return failure.auth(msg, "Error")
    end
    return failure.broken(msg, "Error")
  end
  local list = doc
  if doc.ConsignmentNo ~= nil then list = { doc } end
  if doc[1] == nil and doc.ConsignmentNo == nil then
    if next(doc) == nil then                 -- [] (or {}): SEKO knows none of the numbers
      local results = {}
      for _, c in ipairs(tbl(codes) or {}) do
        if norm_code(c) then results[c] = failure.not_found("SEKO has no consignment " .. c, nil) end
      end
      if next(results) == nil then return failure.broken("empty answer and no numbers asked for", nil) end
      return results
    end
    local keys = {}
    for k in pairs(doc) do keys[#keys + 1] = tostring(k) end
    table.sort(keys)
    return failure.broken("JSON without 'ConsignmentNo' or 'Errors' (keys: " .. short(table.concat(keys, ", "), 80) .. ")", nil)
  end
  local requested = text.codes(codes)
  local results, count, skipped = {}, 0, 0
  for _, c in ipairs(list) do
    local id = type(c) == "table" and norm_code(str(c.ConsignmentNo)) or nil
    if id then
      local key = requested[id] or id
      if results[key] == nil then
        results[key] = read_consignment(c)
        count = count + 1
      end
    else
      skipped = skipped + 1
    end
  end
  if count == 0 then return failure.broken(("none of the %d entries has a ConsignmentNo"):format(skipped), nil) end
  -- Numbers we asked for that SEKO left out of its answer are unknown to it.
  for n, c in pairs(requested) do
    if results[c] == nil and results[n] == nil then results[c] = failure.not_found("SEKO has no consignment " .. c, nil) end
  end
  return results
end

local function parse(response, codes, ctx)
  if type(response) ~= "table" then return failure.broken("no response", nil) end
  local status = math.tointeger(tonumber(response.status)) or 0
  local body = type(response.body) == "string" and response.body or ""
  if body:sub(1, 3) == "\239\187\191" then body = body:sub(4) end
  local f = http.triage(response, { message = error_message, refused = "SEKO refused the access key", now = tbl(ctx) and ctx.now })
  if f then return f end
  local first = body:match("^%s*(%S)")
  if not first then return failure.broken("empty body (HTTP " .. status .. ")", nil) end
  if first ~= "{" and first ~= "[" then
    local title = str(body:match("<[Tt][Ii][Tt][Ll][Ee][^>]*>([^<]*)<"))
    if first == "<" then return failure.broken("expected JSON from SEKO, got markup" .. (title and (" (title: '" .. short(title, 80) .. "')") or ""), nil) end
    return failure.broken("expected JSON from SEKO, body starts with '" .. short(body:match("^%s*(.*)"), 40) .. "'", nil)
  end
  local doc, err = json.decode(body)
  if doc == nil then return failure.broken("body is not valid JSON: " .. short(tostring(err)), nil) end
  local out = parse_doc(doc, codes)
  if status >= 200 and status < 300 or status == 400 then return out end
  if out.failure == nil then return out end
  return failure.broken("HTTP " .. status .. ": " .. short(out.message or ""), nil)
end

---------------------------------------------------------------------------
-- Contract
---------------------------------------------------------------------------
-- SEKO issues its own numbers (12 digits such as 999880931315, or a 2-letter
-- prefix and 11 digits such as DG30754101650) and also tracks by the delivery
-- carrier's number, so only the general shape is checked: no public check digit.
local function validate(code)
  if type(code) ~= "string" then return false, "tracking number must be text" end
  local s = code:gsub("%s+", ""):upper()
  if not s:match("^[%w%-]+$") then return false, "only letters, digits and '-' are allowed" end
  if #s < 8 or #s > 30 then return false, ("expected 8 to 30 characters, got %d"):format(#s) end
  if not s:match("%d%d%d%d") then return false, "must contain at least 4 digits" end
  return true
end

local function request(codes, config, ctx)
  config = tbl(config) or {}
  local key = str(config.access_key) or str(config.api_key)
  if not key then error("seko: config.access_key (the Omni Parcel access key) is required", 0) end
  local list = {}
  for _, c in ipairs(tbl(codes) or {}) do
    local n = norm_code(c)
    if n then list[#list + 1] = n end
  end
  return {
    method = "POST",
    url = http.base_url(config, DEFAULT_BASE) .. "/labels/statusv2",
    headers = {
      ["Content-Type"] = "application/json; charset=utf-8",
      ["Accept"] = "application/json",
      ["Authorization"] = key,
      ["access_key"] = key,
    },
    body = json.encode(list),
    timeout = 30,
  }
end

return {
  id = "seko",
  name = "SEKO Logistics",
  api = 1,
  hosts = { "api.omniparcel.com" },
  tracking_url = "https://track.omniparcel.com/{code}",
  limits = { concurrency = 2, per_second = 5, batch = 10 },
  validate = check.guard(validate),
  request = request,
  parse = failure.guard(parse, "seko script"),
}
