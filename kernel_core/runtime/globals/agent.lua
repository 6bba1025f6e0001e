-- The Agent global: builder, instances and the driver loop of an agent call.
-- Host functions come from agent.py. Methods end in tail calls of wrapped host functions (or
-- raise with level 2 from `drive`), so errors point at the script's line, not at this file.
local host, api, mux = ...

local type, pairs, ipairs, pcall, error, tostring, setmetatable, rawget, format =
  type, pairs, ipairs, pcall, error, tostring, setmetatable, rawget, string.format
local check, check_self = api.check, api.check_self

local Agent = {}
local Instance = api.class("AgentInstance", {})
local instance_mt = { __index = Instance, __name = "llmspell.Agent" }
local names = setmetatable({}, { __mode = "k" }) -- instance -> agent name
local instances = {} -- agent name -> instance (agents live until destroyed)
local composites = {} -- composite name -> composite object

function instance_mt.__tostring(self)
  return format("Agent(%s)", names[self] or "?")
end

local function instance_for(name)
  local inst = instances[name]
  if inst == nil then
    inst = setmetatable({}, instance_mt)
    names[inst] = name
    instances[name] = inst
  end
  return inst
end

-- ------------------------------------------------------------------ tools for the driver

local function global_tool()
  local T = _G.Tool
  if type(T) ~= "table" or type(T.execute) ~= "function" then return nil end
  return T
end

local function run_tool(name, params)
  local T = global_tool()
  if T == nil then return false, "the Tool global is not available" end
  local ok, result = pcall(T.execute, name, params)
  if not ok then
    if mux.is_abort(result) then error(result, 0) end -- an interrupt is never a tool failure
    return false, tostring(result)
  end
  return true, result
end

local function tool_specs(tool_names)
  local T, specs = global_tool(), {}
  for i, name in ipairs(tool_names) do
    local spec = { name = name, description = "" }
    if T and type(T.get) == "function" then
      local ok, info = pcall(T.get, name)
      if ok and type(info) == "table" then
        spec.description = info.description or ""
        local schema = info.schema
        if type(schema) == "table" then spec.parameters = schema.parameters end
      end
    end
    specs[i] = spec
  end
  return specs
end

-- ------------------------------------------------------------------ the driver loop

local function loop(id, callback)
  local reply_ok, reply
  while true do
    local ok, kind, a, b = host.resume(id, reply_ok, reply)
    if not ok then return "error", kind end
    reply_ok, reply = nil, nil
    if kind == "done" then
      return "done", a
    elseif kind == "tool" then
      reply_ok, reply = run_tool(a, b)
    elseif kind == "specs" then
      reply_ok, reply = true, tool_specs(a)
    elseif kind == "chunk" then
      callback(a)
    end
    -- "wait": the provider is still working; going round the loop runs Lua, which is
    -- where an interrupt armed meanwhile fires
  end
end

--- Run one agent call. Always tail-called by a method, so level 2 is the script's line.
local function drive(self, input, options, callback, context_id)
  local name = names[self]
  local ok, id = host.begin(name, input, options, callback ~= nil, context_id)
  if not ok then error(id, 2) end
  local fine, kind, value = pcall(loop, id, callback)
  local chunks = host.finish(id)
  if not fine then error(kind, 0) end -- the callback's or an interrupt's error, unchanged
  if kind == "error" then error(value, 2) end
  if callback ~= nil then
    value.success = true
    value.chunks_received = chunks
  end
  return value
end

-- ------------------------------------------------------------------ instance methods

function Instance:execute(input, options)
  check_self("agent:execute", self, instance_mt)
  return drive(self, input, options, nil, nil)
end

function Instance:execute_with_context(input, context_id)
  check_self("agent:execute_with_context", self, instance_mt)
  check("agent:execute_with_context", 2, context_id, "string")
  return drive(self, input, nil, nil, context_id)
end

function Instance:invokeStream(input, callback)
  check_self("agent:invokeStream", self, instance_mt)
  check("agent:invokeStream", 2, callback, "function")
  return drive(self, input, nil, callback, nil)
end

function Instance:execute_streaming(input, options, callback)
  check_self("agent:execute_streaming", self, instance_mt)
  if type(options) == "function" and callback == nil then
    options, callback = nil, options
  end
  check("agent:execute_streaming", 2, options, "table", true)
  check("agent:execute_streaming", 3, callback, "function")
  return drive(self, input, options, callback, nil)
end

function Instance:invokeTool(tool_name, params)
  check_self("agent:invokeTool", self, instance_mt)
  check("agent:invokeTool", 1, tool_name, "string")
  local T = global_tool()
  if T == nil then error("agent:invokeTool: the Tool global is not available", 2) end
  host["agent:count_tool"](names[self])
  return T.execute(tool_name, params)
end

function Instance:discover_tools()
  check_self("agent:discover_tools", self, instance_mt)
  return api.array(host["agent:allowed_tools"](names[self]))
end

function Instance:has_tool(tool_name)
  check_self("agent:has_tool", self, instance_mt)
  for _, n in ipairs(host["agent:allowed_tools"](names[self])) do
    if n == tool_name then return true end
  end
  return false
end

local function tool_metadata(name)
  local T = global_tool()
  local ok, info = false, nil
  if T and type(T.get) == "function" then ok, info = pcall(T.get, name) end
  if not ok or type(info) ~= "table" then return nil end
  return { name = info.name or name, description = info.description, version = info.version }
end

function Instance:get_tool_metadata(tool_name)
  check_self("agent:get_tool_metadata", self, instance_mt)
  if not self:has_tool(tool_name) then return nil end
  return tool_metadata(tool_name)
end

function Instance:get_all_tool_metadata()
  check_self("agent:get_all_tool_metadata", self, instance_mt)
  local out = {}
  for _, n in ipairs(host["agent:allowed_tools"](names[self])) do
    out[n] = tool_metadata(n)
  end
  return out
end

-- Methods that are one host call with the agent's name first.
local simple = {
  "get_history", "reset", "get_metrics", "get_performance", "get_health", "get_config",
  "get_state", "initialize", "start", "pause", "resume", "stop", "terminate", "recover",
  "set_error", "get_state_history", "get_last_error", "get_recovery_attempts", "is_healthy",
  "get_state_metrics", "logEvent", "get_events", "configure_alerts", "get_alerts",
  "get_bridge_metrics",
}
for _, method in ipairs(simple) do
  local fname = "agent:" .. method
  local fn = host[fname]
  Instance[method] = function(self, ...)
    check_self(fname, self, instance_mt)
    return fn(names[self], ...)
  end
end
Instance.get_agent_state = Instance.get_state

function Instance:set_state(_)
  check_self("agent:set_state", self, instance_mt)
  -- LLMSpell's set_state is a no-op; state moves through the lifecycle methods
end

local function state_store(fname)
  local State = _G.State
  if type(State) ~= "table" or type(State.save) ~= "function" then
    error(fname .. " needs the State global, which is not available", 3)
  end
  return State
end

function Instance:save_state()
  check_self("agent:save_state", self, instance_mt)
  local State = state_store("agent:save_state")
  State.save("agent", names[self] .. ":snapshot", host["agent:snapshot"](names[self]))
  return true
end

function Instance:load_state()
  check_self("agent:load_state", self, instance_mt)
  local State = state_store("agent:load_state")
  local snap = State.load("agent", names[self] .. ":snapshot")
  if snap == nil then return false end
  host["agent:restore"](names[self], snap)
  return true
end

function Instance:delete_state()
  check_self("agent:delete_state", self, instance_mt)
  local State = state_store("agent:delete_state")
  State.delete("agent", names[self] .. ":snapshot")
  return true
end

function Instance:destroy()
  check_self("agent:destroy", self, instance_mt)
  local name = names[self]
  instances[name] = nil
  return host["agent:destroy"](name)
end

-- ------------------------------------------------------------------ builder

local Builder = api.class("AgentBuilder", {})
local builder_mt = { __index = Builder, __name = "llmspell.AgentBuilder" }

local function setter(method, key, kind)
  local fname = "AgentBuilder:" .. method
  Builder[method] = function(self, value)
    check_self(fname, self, builder_mt)
    self.cfg[key] = check(fname, 1, value, kind)
    return self
  end
end

setter("name", "name", "string")
setter("description", "description", "string")
setter("system_prompt", "system_prompt", "string")
setter("temperature", "temperature", "number")
setter("max_tokens", "max_tokens", "number")
setter("max_conversation_length", "max_conversation_length", "number")
setter("base_url", "base_url", "string")
setter("api_key", "api_key", "string")
setter("type", "type", "string")

function Builder:model(value)
  check_self("AgentBuilder:model", self, builder_mt)
  value = check("AgentBuilder:model", 1, value, "string")
  local provider, model = value:match("^([^/]*)/(.*)$")
  if provider then
    self.cfg.provider, self.cfg.model_id = provider, model
  else
    self.cfg.model_id = value
  end
  return self
end

function Builder:provider(value)
  check_self("AgentBuilder:provider", self, builder_mt)
  value = api.provider_name(value) -- a Provider.list() entry stands for its name
  self.cfg.provider = check("AgentBuilder:provider", 1, value, "string")
  return self
end

function Builder:allow_tool(value)
  check_self("AgentBuilder:allow_tool", self, builder_mt)
  local tools = self.cfg.allowed_tools
  tools[#tools + 1] = check("AgentBuilder:allow_tool", 1, value, "string")
  return self
end

--- :tool(name) appends like :allow_tool; :tool({a, b}) appends several.
function Builder:tool(value)
  check_self("AgentBuilder:tool", self, builder_mt)
  if type(value) == "table" then
    for _, n in ipairs(value) do self:allow_tool(n) end
    return self
  end
  local tools = self.cfg.allowed_tools
  tools[#tools + 1] = check("AgentBuilder:tool", 1, value, "string")
  return self
end

function Builder:allowed_tools(list)
  check_self("AgentBuilder:allowed_tools", self, builder_mt)
  check("AgentBuilder:allowed_tools", 1, list, "table")
  local tools = api.array({})
  for i, n in ipairs(list) do tools[i] = check("AgentBuilder:allowed_tools", 1, n, "string") end
  self.cfg.allowed_tools = tools
  return self
end
Builder.tools = Builder.allowed_tools

local limits = {
  max_execution_time = "max_execution_time_secs", max_memory_mb = "max_memory_mb",
  max_tool_calls = "max_tool_calls", max_recursion_depth = "max_recursion_depth",
}
for method, key in pairs(limits) do
  local fname = "AgentBuilder:" .. method
  Builder[method] = function(self, value)
    check_self(fname, self, builder_mt)
    self.cfg.resource_limits[key] = check(fname, 1, value, "number")
    return self
  end
end

function Builder:resource_limits(tbl)
  check_self("AgentBuilder:resource_limits", self, builder_mt)
  check("AgentBuilder:resource_limits", 1, tbl, "table")
  for _, key in pairs(limits) do
    if tbl[key] ~= nil then self.cfg.resource_limits[key] = tbl[key] end
  end
  if tbl.max_execution_time ~= nil and tbl.max_execution_time_secs == nil then
    self.cfg.resource_limits.max_execution_time_secs = tbl.max_execution_time
  end
  return self
end

function Builder:custom_config(tbl)
  check_self("AgentBuilder:custom_config", self, builder_mt)
  check("AgentBuilder:custom_config", 1, tbl, "table")
  self.cfg.custom_config = tbl
  return self
end

--- Create an agent; `level` points the error at the script (2 when tail-called by the API
--- function, 3 when called from it).
local function build_from(cfg, where, level)
  local ok, name = host.build(cfg, where)
  if not ok then error(name, level) end
  return instance_for(name)
end

function Builder:build()
  check_self("AgentBuilder:build", self, builder_mt)
  local c = self.cfg
  local cfg = {}
  for k, v in pairs(c) do cfg[k] = v end
  cfg.model = { provider = c.provider, model_id = c.model_id }
  cfg.model_id = nil
  return build_from(cfg, "AgentBuilder:build", 2)
end

function Agent.builder()
  return setmetatable({ cfg = { allowed_tools = api.array({}), resource_limits = {} } },
    builder_mt)
end

-- ------------------------------------------------------------------ Agent.*

function Agent.create(cfg)
  check("Agent.create", 1, cfg, "table")
  return build_from(cfg, "Agent.create", 2)
end

function Agent.register(cfg)
  check("Agent.register", 1, cfg, "table")
  local inst = build_from(cfg, "Agent.register", 3)
  return names[inst]
end

function Agent.create_from_template(instance_name, template, params)
  check("Agent.create_from_template", 1, instance_name, "string")
  check("Agent.create_from_template", 2, template, "string")
  check("Agent.create_from_template", 3, params, "table", true)
  local cfg = host["Agent.template_config"](instance_name, template, params)
  return build_from(cfg, "Agent.create_from_template", 2)
end

function Agent.get(name)
  check("Agent.get", 1, name, "string")
  if host.exists(name) then return instance_for(name) end
  instances[name] = nil
  return composites[name]
end

Agent.list = host["Agent.list"]
Agent.list_instances = host["Agent.list_instances"]
Agent.discover = host["Agent.discover"]
Agent.get_info = host["Agent.get_info"]
Agent.list_templates = host["Agent.list_templates"]
Agent.list_capabilities = host["Agent.list_capabilities"]
Agent.discover_by_capability = host["Agent.discover_by_capability"]
Agent.get_details = host["Agent.get_details"]
Agent.create_context = host["Agent.create_context"]
Agent.create_child_context = host["Agent.create_child_context"]
Agent.update_context = host["Agent.update_context"]
Agent.get_context_data = host["Agent.get_context_data"]
Agent.remove_context = host["Agent.remove_context"]
Agent.set_shared_memory = host["Agent.set_shared_memory"]
Agent.get_shared_memory = host["Agent.get_shared_memory"]

-- ------------------------------------------------------------------ composites

local Composite = api.class("CompositeAgent", {})
local composite_mt = { __index = Composite, __name = "llmspell.CompositeAgent" }
local ROUTINGS = { sequential = true, parallel = true, vote = true }

local function member(comp, name)
  local inst = Agent.get(name)
  if inst == nil then
    error(format("composite agent '%s': member agent '%s' does not exist", comp.name, name), 4)
  end
  return inst
end

--- Run the members: sequential feeds each reply to the next; parallel asks all and joins
--- their replies; vote asks all and returns the most common reply.
function Composite:execute(input, options)
  check_self("composite:execute", self, composite_mt)
  local text = type(input) == "table" and input.text or input
  check("composite:execute", 1, text, "string")
  local steps, replies = {}, {}
  for i, name in ipairs(self.members) do
    local r = member(self, name):execute(self.routing == "sequential" and text or
      { text = text }, options)
    steps[i] = { agent = name, text = r.text }
    replies[i] = r.text or ""
    if self.routing == "sequential" then text = replies[i] end
  end
  local out
  if self.routing == "sequential" then
    out = text
  elseif self.routing == "parallel" then
    local lines = {}
    for i, s in ipairs(steps) do lines[i] = format("[%s] %s", s.agent, replies[i]) end
    out = table.concat(lines, "\n")
  else
    local counts, best, best_n = {}, nil, 0
    for _, r in ipairs(replies) do
      counts[r] = (counts[r] or 0) + 1
      if counts[r] > best_n then best, best_n = r, counts[r] end
    end
    out = best or ""
  end
  return { text = out, content = out, response = out,
    metadata = { composite = self.name, routing = self.routing, steps = steps } }
end

function Agent.create_composite(name, members, routing)
  check("Agent.create_composite", 1, name, "string")
  check("Agent.create_composite", 2, members, "table")
  if type(routing) == "table" then routing = routing.strategy end
  routing = routing or "sequential"
  if not ROUTINGS[routing] then
    error(format("Agent.create_composite: routing must be sequential, parallel or vote, got '%s'",
      tostring(routing)), 2)
  end
  if host.exists(name) or composites[name] then
    error(format("Agent instance '%s' already exists", name), 2)
  end
  local list = {}
  for i, n in ipairs(members) do list[i] = check("Agent.create_composite", 2, n, "string") end
  composites[name] = setmetatable({ name = name, members = list, routing = routing },
    composite_mt)
end

function Agent.get_hierarchy(name)
  check("Agent.get_hierarchy", 1, name, "string")
  local comp = composites[name]
  if comp then
    local children = {}
    for i, n in ipairs(comp.members) do children[i] = Agent.get_hierarchy(n) end
    return { name = name, type = "composite", routing = comp.routing, children = children }
  end
  if host.exists(name) then return { name = name, type = "agent", children = api.array({}) } end
  return nil
end

function Agent.wrap_as_tool(name, cfg)
  check("Agent.wrap_as_tool", 1, name, "string")
  check("Agent.wrap_as_tool", 2, cfg, "table", true)
  cfg = cfg or {}
  local T = global_tool()
  if T == nil or type(T.register) ~= "function" then
    error("Agent.wrap_as_tool needs Tool.register, which is not available", 2)
  end
  if Agent.get(name) == nil then
    error(format("Agent.wrap_as_tool: agent '%s' does not exist", name), 2)
  end
  local tool_name = cfg.tool_name or (name .. "_tool")
  T.register(tool_name, {
    description = format("Asks the agent '%s'", name),
    category = cfg.category or "agent",
    security_level = cfg.security_level or "safe",
    parameters = { { name = "input", type = "string", description = "The prompt",
      required = true } },
    execute = function(params)
      local text = type(params) == "table" and (params.input or params.text or params.prompt)
      local r = Agent.get(name):execute({ text = tostring(text or "") })
      return { success = true, result = r.text, text = r.text }
    end,
  })
  return tool_name
end

return Agent
