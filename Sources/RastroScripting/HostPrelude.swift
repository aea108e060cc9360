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

-- text ---------------------------------------------------------------------
local text = {}

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

-- text.code(s) -> s upper-cased without whitespace (a tracking number as typed), nil when empty
function text.code(c)
  if type(c) ~= "string" then return nil end
  local s = gsub(c, "%s+", ""):upper()
  if s == "" then return nil end
  return s
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

return { json = json, xml = xml, url = url, failure = failure, carriers = carriers, text = text }
"""#
}
