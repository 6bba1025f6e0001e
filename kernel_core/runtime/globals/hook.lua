-- The Lua side of the Hook global: argument checks, handles, calling one callback and
-- reading its result, and the free fast path of api.fire_hook when a point has no hooks.
-- Loaded with (api, mux, host) where host has points, register, unregister, list, fire and
-- unknown_point (the error message for a bad point name), all from hook.py.
-- Dispatch itself (priority order, circuit breakers, statistics) is Python's, in hook.py.
local api, mux, host = ...

local type, tostring, pcall, setmetatable, getmetatable, format = type, tostring, pcall,
  setmetatable, getmetatable, string.format
local getinfo = debug.getinfo
local check = api.check

local M = {}

-- hooks registered per point, kept in step with Python so api.fire_hook costs one table
-- lookup while a point has none
local active = {}
local known = {}
for _, name in ipairs(host.points) do known[name] = true end

-- ------------------------------------------------------------------ calling a callback

local function describe(err)
  if type(err) == "string" then return err end
  local ok, text = pcall(tostring, err)
  if ok and type(text) == "string" then return text end
  return "(error object is a " .. type(err) .. " value)"
end

local function number_or(v, default)
  if v == nil then return default end
  if type(v) ~= "number" then return nil end
  return v
end

-- status, action, data, reason, target, delay_ms, max_attempts
local function read_result(r)
  local kind = type(r)
  if r == nil then return "ok", "continue" end
  if kind == "string" then
    if r == "continue" then return "ok", "continue" end
    if r == "skip" or r == "skipped" then return "ok", "skip" end
    return "ok", "cancel", nil, r
  end
  if kind ~= "table" then return "ok", "continue" end
  local t = r.type
  if t == "modified" then return "ok", "modified", r.data end
  if t == "replace" then return "ok", "replace", r.data end
  if t == "cancel" then
    return "ok", "cancel", nil, r.reason ~= nil and tostring(r.reason) or "cancelled by hook"
  end
  if t == "skipped" or t == "skip" then
    return "ok", "skip", r.data, r.reason ~= nil and tostring(r.reason) or nil
  end
  if t == "redirect" then
    if type(r.target) ~= "string" or r.target == "" then
      return "error", "a {type=\"redirect\"} result needs a target (a tool or agent name)"
    end
    return "ok", "redirect", r.data, nil, r.target
  end
  if t == "retry" then
    local delay, attempts = number_or(r.delay_ms, 1000), number_or(r.max_attempts, 3)
    if delay == nil or attempts == nil then
      return "error", "a {type=\"retry\"} result needs numbers for delay_ms and max_attempts"
    end
    return "ok", "retry", nil, r.reason, nil, delay, attempts
  end
  return "ok", "continue"
end

local MEMORY_ERROR = "not enough memory"

-- exactly seven values, trailing nils included, for Python to unpack
local function seven(a, b, c, d, e, f, g) return a, b, c, d, e, f, g end

--- Call one hook with a fresh ctx; never raises. Returns status ("ok", "error" or "abort"),
--- action (or the error message), data, reason, target, delay_ms, max_attempts.
function M.invoke(fn, point, correlation_id, ctype, cname, metadata, data)
  local ctx = {
    point = point, correlation_id = correlation_id,
    component_id = { type = ctype, name = cname },
    language = "lua", metadata = metadata or {}, data = data,
  }
  local ok, r = pcall(fn, ctx)
  if not ok then
    -- a run being aborted, or the memory limit (LUA_ERRMEM's message): a resource limit
    -- ends the script; it is not a failure of this hook that the operation can shrug off
    if mux.is_abort(r) or r == MEMORY_ERROR then return seven("abort", describe(r)) end
    return seven("error", describe(r))
  end
  return seven(read_result(r))
end

function M.set_active(point, count)
  active[point] = count > 0 or nil
end

-- ------------------------------------------------------------------ handles

local handles = setmetatable({}, { __mode = "k" }) -- handle -> {id=, point=, live=}
local Handle = {}
local handle_mt = { __index = Handle, __name = "HookHandle" }
handle_mt.__tostring = function(self)
  local h = handles[self]
  return format("HookHandle(%s, %s%s)", h.point, h.id, h.live and "" or ", unregistered")
end
api.class("HookHandle", Handle)

local function live(fname, self)
  api.check_self(fname, self, handle_mt)
  local h = handles[self]
  if not h.live then
    error(format("%s: hook %s was unregistered", fname, h.id), 3)
  end
  return h
end

function Handle.id(self) return live("HookHandle:id", self).id end
function Handle.hook_point(self) return live("HookHandle:hook_point", self).point end
function Handle.unregister(self)
  api.check_self("HookHandle:unregister", self, handle_mt)
  return M.unregister(self)
end

-- ------------------------------------------------------------------ the global

local Hook = {}

local function source_of(fn)
  local info = getinfo(fn, "S")
  if info.what == "C" then return "[C]" end
  return info.short_src .. ":" .. info.linedefined
end

function Hook.register(point, fn, priority)
  check("Hook.register", 1, point, "string")
  check("Hook.register", 2, fn, "function")
  if not known[point] then error(host.unknown_point(point), 2) end
  if priority ~= nil and type(priority) ~= "string" then priority = tostring(priority) end
  local id = host.register(point, fn, priority, source_of(fn))
  local handle = setmetatable({}, handle_mt)
  handles[handle] = { id = id, point = point, live = true }
  return handle
end

function M.unregister(handle)
  local h = handles[handle]
  if h == nil or not h.live then return false end
  h.live = false
  return host.unregister(h.id)
end

function Hook.unregister(handle)
  if type(handle) == "string" then
    for hd, h in pairs(handles) do
      if h.id == handle then return M.unregister(hd) end
    end
    return host.unregister(handle)
  end
  return M.unregister(handle)
end

function Hook.list(filter)
  if filter ~= nil and type(filter) ~= "string" and type(filter) ~= "table" then
    error(format("bad argument #1 to 'Hook.list' (string or table expected, got %s)",
      type(filter)), 2)
  end
  local point = filter
  if type(filter) == "table" then point = filter.hook_point end
  if point ~= nil and not known[point] then error(host.unknown_point(point), 2) end
  return host.list(filter)
end

M.Hook = Hook

--- api.fire_hook for Lua callers (Workflow): free while the point has no hooks.
function M.fire_hook(point, component_type, component_name, data, metadata)
  if not active[point] then
    if not known[point] then error(host.unknown_point(point), 2) end
    return { action = "continue" }
  end
  return host.fire(point, component_type, component_name, data, metadata)
end

return M
