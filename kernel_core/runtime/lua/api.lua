-- Helpers shared by the Lua side of the LLMSpell globals. Loaded once per runtime.
local pack, unpack, error, type, format, tostring = table.pack, table.unpack, error, type,
  string.format, tostring
local setmetatable, getmetatable = setmetatable, getmetatable

local A = {}

--- Turn a host function (which returns true, ... or false, message) into a Lua function
--- that raises the message at the script's calling line.
function A.wrap(fn)
  return function(...)
    local r = pack(fn(...))
    if r[1] then return unpack(r, 2, r.n) end
    error(r[2], 2)
  end
end

local function typename(v)
  if v == nil then return "no value" end
  return type(v)
end

--- Check argument i of fname; numbers are accepted where strings are expected (mlua rule).
function A.check(fname, i, v, expected, optional)
  local t = type(v)
  if t == expected or (optional and v == nil) then return v end
  if expected == "string" and t == "number" then return tostring(v) end
  error(format("bad argument #%d to '%s' (%s expected, got %s)", i, fname, expected,
    typename(v)), 3)
end

--- Raise for a method called with '.' instead of ':' (self is not the object).
function A.check_self(fname, self, mt)
  if getmetatable(self) ~= mt then
    error(format("'%s' must be called with ':' (e.g. obj:%s(...)), not '.'", fname,
      fname:match("[%w_]+$") or fname), 3)
  end
end

A.array_mt = { __name = "llmspell.array" }

--- Mark a table as a JSON array (so an empty one serialises as []).
function A.array(t)
  return setmetatable(t or {}, A.array_mt)
end

function A.is_array(t)
  return getmetatable(t) == A.array_mt
end

--- Tables of methods by class name ("AgentBuilder", ...), for "did you mean" suggestions.
A.classes = {}
function A.class(name, methods)
  A.classes[name] = methods
  return methods
end

--- Fire an LLMSpell hook point from Lua code (Workflow). The Hook global installs the real
--- dispatcher as `fire_hook_impl`; reading `_G.Hook` installs it on first use. Callers may
--- keep a reference to this function: it always reaches the current dispatcher.
--- Returns a decision table {action=, data=, reason=, target=, delay_ms=, max_attempts=}.
function A.fire_hook(...)
  local impl = A.fire_hook_impl
  if impl == nil then
    local _ = _G.Hook -- installs the Hook global, which sets fire_hook_impl
    impl = A.fire_hook_impl
  end
  return impl(...)
end

--- Entries of Provider.list(): tables with `name` that scripts written against LLMSpell
--- also use as the name itself ("using " .. p, Agent.builder():provider(p)).
local provider_entry_mt = { __name = "llmspell.provider" }
provider_entry_mt.__tostring = function(entry) return tostring(entry.name) end
provider_entry_mt.__concat = function(a, b)
  if getmetatable(a) == provider_entry_mt then a = tostring(a.name) end
  if getmetatable(b) == provider_entry_mt then b = tostring(b.name) end
  return a .. b
end

function A.provider_entries(list)
  for _, entry in ipairs(list) do setmetatable(entry, provider_entry_mt) end
  return list
end

--- The provider name a value stands for: a Provider.list() entry's name, else the value.
function A.provider_name(value)
  if getmetatable(value) == provider_entry_mt then return value.name end
  return value
end

function A.table_id(t) return format("%p", t) end
function A.new_table() return {} end

return A
