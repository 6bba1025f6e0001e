-- The Lua face of the Tool global: argument checks that raise at the caller's line, tool
-- instances (`t:execute(params)`), `Tool[name]`, and calling tools written in Lua.
local host, api, mux = ...

local type, pcall, error, setmetatable, getmetatable = type, pcall, error, setmetatable,
  getmetatable
local format, tostring = string.format, tostring
local check = api.check

local Tool = {}

local instance_mt = { __name = "llmspell.ToolInstance" }

local function check_options(fname, options)
  if options ~= nil and type(options) ~= "table" then
    error(format("bad argument #3 to '%s' (table expected, got %s)", fname, type(options)), 3)
  end
end

local function check_params(fname, index, params)
  if type(params) ~= "table" then
    local got = params == nil and "no value" or type(params)
    error(format("bad argument #%d to '%s' (table expected, got %s)", index, fname, got), 3)
  end
end

function Tool.execute(name, params, options)
  check("Tool.execute", 1, name, "string")
  check_params("Tool.execute", 2, params)
  check_options("Tool.execute", options)
  return host.execute(name, params, options, "global")
end
Tool.invoke = Tool.execute

local function instance(info)
  if info == nil then return nil end
  local t = info
  t.execute = function(self, params, options)
    api.check_self("execute", self, instance_mt)
    check_params("execute", 1, params)
    return host.execute(self.name, params, options, "instance")
  end
  t.getSchema = function(self)
    api.check_self("getSchema", self, instance_mt)
    return host.schema(self.name)
  end
  t.get_schema = t.getSchema
  return setmetatable(t, instance_mt)
end
api.class("ToolInstance", { execute = true, getSchema = true, get_schema = true })

function Tool.get(name)
  check("Tool.get", 1, name, "string")
  return instance(host.info(name))
end

function Tool.exists(name)
  check("Tool.exists", 1, name, "string")
  return host.exists(name)
end

function Tool.is_available(name)
  check("Tool.is_available", 1, name, "string")
  return host.available(name)
end

function Tool.list()
  return host.list()
end

function Tool.categories()
  return host.categories()
end

function Tool.discover(filter)
  if filter ~= nil and type(filter) ~= "table" then
    error(format("bad argument #1 to 'Tool.discover' (table expected, got %s)", type(filter)), 2)
  end
  return host.discover(filter)
end

function Tool.get_info(name)
  check("Tool.get_info", 1, name, "string")
  return host.info(name)
end

function Tool.get_schema(name)
  check("Tool.get_schema", 1, name, "string")
  return host.schema(name)
end

function Tool.register(name, spec)
  check("Tool.register", 1, name, "string")
  local handler
  if type(spec) == "function" then
    handler, spec = spec, {}
  elseif type(spec) == "table" then
    handler = spec.execute or spec.handler
    if type(handler) ~= "function" then
      error(format("Tool.register: the spec for '%s' needs an 'execute' function "
        .. "(execute = function(params) ... end), got %s", name, type(handler)), 2)
    end
  else
    error(format("bad argument #2 to 'Tool.register' (function or table expected, got %s)",
      spec == nil and "no value" or type(spec)), 2)
  end
  local description = spec.description
  local category = spec.category
  local meta = {
    description = description ~= nil and tostring(description) or nil,
    category = category ~= nil and tostring(category) or nil,
    version = spec.version ~= nil and tostring(spec.version) or nil,
    parameters = spec.parameters or spec.schema,
  }
  host.register(name, handler, meta)
  return true
end

function Tool.unregister(name)
  check("Tool.unregister", 1, name, "string")
  return host.unregister(name)
end

function Tool.batch(calls)
  if type(calls) ~= "table" then
    error(format("bad argument #1 to 'Tool.batch' (table expected, got %s)",
      calls == nil and "no value" or type(calls)), 2)
  end
  local results = api.array({})
  for i = 1, #calls do
    local call = calls[i]
    local ok, result
    if type(call) ~= "table" then
      ok, result = false, format("batch entry #%d must be a table {name, params}, got %s", i,
        type(call))
    else
      local name = call.name or call.tool or call[1]
      local params = call.params or call.parameters or call[2] or {}
      if type(name) ~= "string" then
        ok, result = false, format("batch entry #%d has no tool name (give {name, params})", i)
      else
        ok, result = pcall(host.execute, name, params, call.options or call[3], "global")
        if not ok and mux.is_abort(result) then error(result, 0) end
      end
    end
    if ok then
      results[i] = result
    else
      results[i] = { success = false, error = tostring(result) }
    end
  end
  return results
end

setmetatable(Tool, {
  __index = function(_, key)
    if type(key) == "string" then return instance(host.info(key)) end
    return nil
  end,
})

-- Tools written in Lua --------------------------------------------------------------------

local timeout_mt = { __tostring = function(self) return self.message end }
local active_deadlines = {}

-- A tool's deadline is delivered as an asynchronous action (see ToolRunner): raise in the
-- running handler if its call is still active, ignore a late one.
local previous_action = mux.on_async_action
mux.on_async_action = function(action, message)
  if action == "tool-timeout" then
    local text = active_deadlines[message]
    if text then
      active_deadlines[message] = nil
      error(setmetatable({ message = text }, timeout_mt), 0)
    end
    return
  end
  if previous_action then return previous_action(action, message) end
end

local function describe(err)
  if type(err) == "string" then return err end
  local mt = getmetatable(err)
  if mt and mt.__tostring then return tostring(err) end
  if type(err) == "table" and type(err.message) == "string" then return err.message end
  return tostring(err)
end

--- Call a Lua tool handler; returns true, result | false, kind, message.
local function call_handler(fn, params, token, timeout_text)
  if token then active_deadlines[token] = timeout_text end
  local ok, result = pcall(fn, params)
  if token then active_deadlines[token] = nil end
  if ok then return true, result end
  if mux.is_abort(result) then error(result, 0) end
  if getmetatable(result) == timeout_mt then return false, "timeout", result.message end
  return false, "error", describe(result)
end

return { Tool = Tool, call_handler = call_handler }
