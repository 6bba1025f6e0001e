-- The Workflow global: builders (LLMSpell's Workflow.builder() and the documented
-- Workflow.sequential():step(...) style), direct constructors, workflow instances and the
-- registry. Instance methods live in workflow_instance.lua, execution in
-- workflow_engine.lua, steps and conditions in workflow_steps.lua.
-- Loaded by workflow.py with (api, host, steps, engine); returns the Workflow table.
local api, host, steps, engine = ...

local type, tostring, pairs, ipairs, error, format = type, tostring, pairs, ipairs, error,
  string.format
local setmetatable = setmetatable
local check, check_self = api.check, api.check_self
local getinfo = debug.getinfo

-- Raise at the script's line: the first caller outside the workflow chunks (builders chain
-- through helpers and tail calls, so a fixed error level would point at the wrong frame).
local function raise(message)
  local level = 2
  while true do
    local info = getinfo(level, "S")
    if info == nil then error(message, 0) end
    if info.what ~= "C" and not info.source:find("^=%[llmspell%] workflow") then
      error(message, level)
    end
    level = level + 1
  end
end

local Workflow = {}
local TYPES = { "sequential", "conditional", "loop", "parallel" }
local DESCRIPTIONS = {
  sequential = { "Runs steps one after another, each getting the previous output",
    { "steps", "error_strategy", "timeout_ms", "templates" } },
  parallel = { "Runs branches concurrently as cooperatively scheduled coroutines",
    { "branches", "max_concurrency", "merge_strategy", "error_strategy" } },
  conditional = { "Runs the first branch whose condition holds, else the default branch",
    { "condition", "then_steps", "else_steps", "branches" } },
  loop = { "Runs its body once per iteration of a range, a collection or a condition",
    { "range", "collection", "while", "max_iterations", "break_loop" } },
}

-- ---------------------------------------------------------------- instances and registry

local Instance = api.class("Workflow", {})
local states = setmetatable({}, { __mode = "k" })
local registry = {} -- instances in creation order
local instance_mt = {
  __name = "llmspell.Workflow",
  __index = function(self, key)
    local state = states[self]
    if key == "id" then return state.id end
    if key == "name" then return state.def.name end
    if key == "type" then return state.def.type end
    if key == "description" then return state.def.description end
    return Instance[key]
  end,
  __newindex = function(_, key)
    raise(format("cannot set '%s' on a workflow: workflows are read-only once built",
      tostring(key)))
  end,
  __tostring = function(self)
    return format("Workflow(%s '%s')", self.type, self.name)
  end,
}

steps.is_instance = function(v) return type(v) == "table" and states[v] ~= nil end
engine.state_of = function(wf) return states[wf] end

local function find(id_or_name)
  for _, wf in ipairs(registry) do
    if wf.id == id_or_name then return wf end
  end
  for i = #registry, 1, -1 do
    if registry[i].name == id_or_name then return registry[i] end
  end
  return nil
end
engine.find = find

local function new_instance(def)
  local wf = setmetatable({}, instance_mt)
  states[wf] = {
    id = "workflow_" .. host.new_id(), def = def, shared = {},
    callbacks = { before = {}, after = {}, error = {} },
    metrics = { executions = 0, successes = 0, failures = 0, cancellations = 0,
      total_duration_ms = 0 },
  }
  registry[#registry + 1] = wf
  return wf
end

local function self_state(fname, self)
  check_self(fname, self, instance_mt)
  return states[self]
end

-- ---------------------------------------------------------------- definitions

local STRATEGY_ALIASES = {
  fail_fast = "fail_fast", failfast = "fail_fast", ["fail-fast"] = "fail_fast",
  stop = "fail_fast", abort = "fail_fast", fail = "fail_fast",
  continue = "continue", skip = "continue", ignore = "continue",
  retry = "retry",
}

local function parse_strategy(s)
  local spec = s
  if s == nil then spec = { type = "fail_fast" } end
  if type(s) == "string" then spec = { type = s } end
  if type(spec) ~= "table" then
    return nil, format("error strategy must be \"fail_fast\", \"continue\", \"retry\" or " ..
      "{type=\"retry\", max_attempts=, backoff_ms=}, got %s", type(s))
  end
  local name = STRATEGY_ALIASES[spec.type or spec.kind or "fail_fast"]
  if not name then
    return nil, format("unknown error strategy '%s' (expected \"fail_fast\", \"continue\" " ..
      "or \"retry\")", tostring(spec.type or spec.kind))
  end
  local strategy = { name = name, kind = name == "continue" and "continue" or "fail_fast",
    retries = 0, backoff_ms = 0 }
  if name == "retry" then strategy.retries, strategy.backoff_ms = 2, 1000 end
  if type(spec.max_attempts) == "number" then strategy.retries = spec.max_attempts - 1 end
  if type(spec.retries) == "number" then strategy.retries = spec.retries end
  if type(spec.backoff_ms) == "number" then strategy.backoff_ms = spec.backoff_ms end
  if strategy.retries < 0 then strategy.retries = 0 end
  return strategy
end

local function parse_iterator(it, label)
  if it.range ~= nil then
    local r = it.range
    if type(r) ~= "table" then
      return nil, format("%s: range must be a table {start=, [\"end\"]=, step=}", label)
    end
    local start, stop, step = r.start or r[1] or 1, r["end"] or r.stop or r[2], r.step or r[3] or 1
    if type(start) ~= "number" or type(stop) ~= "number" or type(step) ~= "number" then
      return nil, format("%s: range needs numbers start, [\"end\"] (exclusive) and step", label)
    end
    if step == 0 then return nil, format("%s: range step must not be 0", label) end
    return { kind = "range", start = start, stop = stop, step = step }
  end
  if it.collection ~= nil then
    if type(it.collection) ~= "table" then
      return nil, format("%s: collection must be a table of values, got %s", label,
        type(it.collection))
    end
    local values = {}
    for i, v in ipairs(it.collection) do values[i] = v end
    return { kind = "collection", values = values }
  end
  local cond = it.while_condition or it["while"] or it.condition
  if cond ~= nil then
    local parsed, err = steps.parse_condition(cond, label)
    if not parsed then return nil, err end
    return { kind = "while", condition = parsed }
  end
  return nil
end

-- Turn a spec gathered by a builder or a constructor into an immutable definition.
local function define(spec, label)
  local def = {
    type = spec.type, name = spec.name or ("workflow_" .. host.new_id():sub(1, 8)),
    description = spec.description, timeout_ms = spec.timeout_ms,
    max_concurrency = spec.max_concurrency, merge = spec.merge,
    max_iterations = spec.max_iterations,
    strategy = spec.strategy or parse_strategy(nil),
  }
  local kind = spec.type
  if kind == "sequential" then
    def.steps = spec.steps
  elseif kind == "parallel" then
    def.branches = {}
    for _, b in ipairs(spec.branches) do def.branches[#def.branches + 1] = b end
    for _, step in ipairs(spec.steps) do
      def.branches[#def.branches + 1] = { name = step.name, steps = { step } }
    end
    for i, b in ipairs(def.branches) do b.name = b.name or format("branch_%d", i) end
  elseif kind == "conditional" then
    def.branches = {}
    -- add_step and add_then_step both fill the then branch, in the order they were called
    local then_steps = {}
    for _, s in ipairs(spec.then_steps) do then_steps[#then_steps + 1] = s end
    for _, s in ipairs(spec.steps) do then_steps[#then_steps + 1] = s end
    table.sort(then_steps, function(x, y) return (x.order or 0) < (y.order or 0) end)
    if #then_steps > 0 or spec.condition then
      def.branches[1] = { name = "then_branch", condition = spec.condition,
        steps = then_steps }
    end
    for i, b in ipairs(spec.branches) do
      b.name = b.name or format("branch_%d", i)
      def.branches[#def.branches + 1] = b
    end
    if #spec.else_steps > 0 then
      def.default = { name = "else_branch", steps = spec.else_steps }
    end
    if spec.default_branch ~= nil then
      local wanted = spec.default_branch
      for i, b in ipairs(def.branches) do
        if b.name == wanted then
          table.remove(def.branches, i)
          def.default = { name = b.name, steps = b.steps }
          break
        end
      end
      if not def.default or def.default.name ~= wanted then
        return nil, format("%s: default_branch '%s' names no branch", label, tostring(wanted))
      end
    end
  elseif kind == "loop" then
    def.steps = spec.steps
    local it = spec.iterator
    if it == nil and spec.condition then it = { kind = "while", condition = spec.condition } end
    if it == nil then
      it = def.max_iterations and { kind = "count" } or { kind = "range", start = 1, stop = 10,
        step = 1 }
    elseif spec.condition and it.kind ~= "while" then
      it.condition = spec.condition
    end
    if it.kind == "while" and not def.max_iterations then def.max_iterations = 100 end
    def.iterator = it
  end
  return def
end

-- ---------------------------------------------------------------- builder

local Builder = api.class("WorkflowBuilder", {})
local builder_mt = { __index = Builder, __name = "llmspell.WorkflowBuilder" }

local function new_spec(kind)
  return { type = kind, steps = {}, then_steps = {}, else_steps = {}, branches = {} }
end

local function new_builder(kind)
  return setmetatable({ spec = new_spec(kind), count = 0 }, builder_mt)
end

local function method(name, fn)
  Builder[name] = function(self, ...)
    check_self(name, self, builder_mt)
    return fn(self, ...)
  end
end

local function add_to(list, b, raw, fname)
  b.count = b.count + 1
  local step, err = steps.parse(raw, fname, b.count)
  if not step then raise(err) end
  step.order = b.count
  list[#list + 1] = step
  return b
end

-- Accept one step table or a list of them.
local function add_many(list, b, raw, fname)
  if type(raw) == "table" and raw[1] ~= nil and not steps.is_instance(raw) then
    for _, one in ipairs(raw) do add_to(list, b, one, fname) end
    return b
  end
  return add_to(list, b, raw, fname)
end

local function setter(name, key, expected, convert)
  method(name, function(self, v)
    check(name, 1, v, expected)
    self.spec[key] = convert and convert(v) or v
    return self
  end)
end

setter("name", "name", "string")
setter("description", "description", "string")
setter("timeout_ms", "timeout_ms", "number")
setter("max_iterations", "max_iterations", "number", math.floor)
setter("max_concurrency", "max_concurrency", "number", math.floor)
for _, kind in ipairs(TYPES) do
  method(kind, function(self) self.spec.type = kind return self end)
end
method("loop_workflow", function(self) self.spec.type = "loop" return self end)

for _, name in ipairs({ "add_step", "step" }) do
  method(name, function(self, raw) return add_to(self.spec.steps, self, raw, name) end)
end
for _, name in ipairs({ "body", "body_step" }) do
  method(name, function(self, raw) return add_many(self.spec.steps, self, raw, name) end)
end
method("add_then_step", function(self, raw)
  return add_to(self.spec.then_steps, self, raw, "add_then_step")
end)
method("add_else_step", function(self, raw)
  return add_to(self.spec.else_steps, self, raw, "add_else_step")
end)
method("when_true", function(self, raw)
  return add_many(self.spec.then_steps, self, raw, "when_true")
end)
method("when_false", function(self, raw)
  return add_many(self.spec.else_steps, self, raw, "when_false")
end)
method("add_template_step", function(self, name, template_id, params)
  check("add_template_step", 1, name, "string")
  check("add_template_step", 2, template_id, "string")
  check("add_template_step", 3, params, "table", true)
  return add_to(self.spec.steps, self, { name = name, type = "template",
    template_id = template_id, params = params }, "add_template_step")
end)

method("error_strategy", function(self, s)
  local strategy, err = parse_strategy(s)
  if not strategy then raise("bad argument #1 to 'error_strategy' (" .. err .. ")") end
  self.spec.strategy = strategy
  return self
end)
method("on_error", function(self, s)
  local strategy, err = parse_strategy(s)
  if not strategy then raise("bad argument #1 to 'on_error' (" .. err .. ")") end
  self.spec.strategy = strategy
  return self
end)
method("max_retries", function(self, n)
  check("max_retries", 1, n, "number")
  self.spec.strategy = self.spec.strategy or parse_strategy(nil)
  self.spec.strategy.retries = math.max(0, math.floor(n))
  return self
end)
method("merge_strategy", function(self, s)
  check("merge_strategy", 1, s, "string")
  local ok = false
  for _, m in ipairs(engine.MERGE_STRATEGIES) do ok = ok or m == s end
  if not ok then
    raise(format("bad argument #1 to 'merge_strategy' (unknown strategy '%s'; expected %s)",
      s, table.concat(engine.MERGE_STRATEGIES, ", ")))
  end
  self.spec.merge = s
  return self
end)

local function condition_arg(fname, c)
  local parsed, err = steps.parse_condition(c, fname)
  if not parsed then raise(err) end
  return parsed
end

for _, name in ipairs({ "condition", "loop_condition" }) do
  method(name, function(self, c)
    self.spec.condition = condition_arg(name, c)
    return self
  end)
end
method("with_while", function(self, c)
  self.spec.iterator = { kind = "while", condition = condition_arg("with_while", c) }
  return self
end)
method("with_range", function(self, r)
  check("with_range", 1, r, "table")
  local it, err = parse_iterator({ range = r }, "with_range")
  if not it then raise(err) end
  self.spec.iterator = it
  return self
end)
method("with_collection", function(self, c)
  check("with_collection", 1, c, "table")
  self.spec.iterator = parse_iterator({ collection = c }, "with_collection")
  return self
end)

-- :branch("name", step-or-steps), :branch({name=, steps=}), :branch(step),
-- :branch(condition, steps) (conditional), and LLMSpell's :add_branch(condition, steps).
local function add_branch(self, fname, a, b)
  local spec = self.spec
  local branch = {}
  local steps_raw
  if type(a) == "string" and b ~= nil then
    branch.name, steps_raw = a, b
  elseif b ~= nil then
    branch.condition, steps_raw = condition_arg(fname, a), b
  elseif type(a) == "table" and a.steps ~= nil then
    branch.name, steps_raw = a.name, a.steps
    if a.condition ~= nil then branch.condition = condition_arg(fname, a.condition) end
  else
    steps_raw = a
  end
  if type(steps_raw) == "table" and steps_raw.steps ~= nil then
    steps_raw = steps_raw.steps
  end
  local list, err = steps.parse_list(steps_raw, fname)
  if not list then raise(err) end
  if branch.name == nil and #list == 1 and type(a) ~= "string" then
    branch.name = list[1].name
  end
  if branch.name and #list == 1 and type(steps_raw) == "table" and steps_raw.name == nil then
    list[1].name = branch.name
  end
  branch.steps = list
  spec.branches[#spec.branches + 1] = branch
  return self
end
method("branch", function(self, a, b) return add_branch(self, "branch", a, b) end)
method("add_branch", function(self, a, b) return add_branch(self, "add_branch", a, b) end)

method("build", function(self)
  local spec = self.spec
  if spec.type == nil then
    raise("Workflow type not specified (call :sequential(), :parallel(), :conditional() " ..
      "or :loop() before :build())")
  end
  local def, err = define(spec, "build")
  if not def then raise(err) end
  return new_instance(def)
end)

-- ---------------------------------------------------------------- direct constructors

local function constructor(kind)
  return function(config, ...)
    local fname = "Workflow." .. kind
    if config == nil or type(config) == "string" then
      local b = new_builder(kind)
      if config then b.spec.name = config end
      return b
    end
    check(fname, 1, config, "table")
    local spec = new_spec(kind)
    if config.name ~= nil then spec.name = check(fname, 1, config.name, "string") end
    if kind ~= "parallel" and kind ~= "conditional" and config.name == nil then
      raise(format("%s: 'name' is required", fname))
    end
    spec.description = config.description
    spec.timeout_ms = config.timeout_ms
    spec.max_concurrency = config.max_concurrency
    spec.max_iterations = config.max_iterations
    if config.error_strategy ~= nil then
      local strategy, err = parse_strategy(config.error_strategy)
      if not strategy then raise(fname .. ": " .. err) end
      spec.strategy = strategy
    end
    if config.merge_strategy ~= nil then spec.merge = config.merge_strategy end
    local function list_of(raw, what)
      local list, err = steps.parse_list(raw, fname .. " " .. what)
      if not list then raise(err) end
      return list
    end
    if kind == "sequential" then
      if config.steps == nil then raise(format("%s: 'steps' is required", fname)) end
      spec.steps = list_of(config.steps, "steps")
    elseif kind == "loop" then
      local body = config.body or config.steps
      if body == nil then raise(format("%s: 'body' (a table of steps) is required", fname)) end
      spec.steps = list_of(body, "body")
      if config.iterator ~= nil then
        check(fname, 1, config.iterator, "table")
        local it, err = parse_iterator(config.iterator, fname .. " iterator")
        if err then raise(err) end
        spec.iterator = it
        spec.max_iterations = spec.max_iterations or config.iterator.max_iterations
      end
      if config.condition ~= nil then spec.condition = condition_arg(fname, config.condition) end
    else
      if config.steps ~= nil then spec.steps = list_of(config.steps, "steps") end
      if kind == "conditional" then
        if config.condition ~= nil then spec.condition = condition_arg(fname, config.condition) end
        if config.then_steps ~= nil then spec.then_steps = list_of(config.then_steps, "then_steps") end
        if config.else_steps ~= nil then spec.else_steps = list_of(config.else_steps, "else_steps") end
        spec.default_branch = config.default_branch
      end
      local builder = setmetatable({ spec = spec, count = 0 }, builder_mt)
      for i, b in ipairs(config.branches or {}) do
        if type(b) ~= "table" then
          raise(format("%s: branch #%d must be a table {name=, steps={...}}, got %s", fname, i,
            type(b)))
        end
        add_branch(builder, fname, b)
      end
      if type(config.default_branch) == "table" then
        spec.else_steps = list_of(config.default_branch.steps or config.default_branch,
          "default_branch")
        spec.default_branch = nil
      end
      if #spec.steps == 0 and #spec.branches == 0 and #spec.then_steps == 0 then
        raise(format("%s: give 'branches' (or 'steps')", fname))
      end
    end
    local def, err = define(spec, fname)
    if not def then raise(err) end
    return new_instance(def)
  end
end

for _, kind in ipairs(TYPES) do Workflow[kind] = constructor(kind) end

function Workflow.builder()
  return new_builder(nil)
end

-- ---------------------------------------------------------------- Workflow.* utilities

local function type_descriptor(kind)
  return { id = kind, type = kind, description = DESCRIPTIONS[kind][1],
    features = api.array({ table.unpack(DESCRIPTIONS[kind][2]) }) }
end

function Workflow.list()
  local out = api.array({})
  for _, wf in ipairs(registry) do
    out[#out + 1] = { id = wf.id, name = wf.name, type = wf.type, description = wf.description }
  end
  return out
end

function Workflow.get(id)
  check("Workflow.get", 1, id, "string")
  local wf = find(id)
  if wf then return wf end
  if DESCRIPTIONS[id] then return type_descriptor(id) end
  raise(format("Workflow not found: '%s'", id))
end

function Workflow.remove(id)
  if steps.is_instance(id) then id = id.id end
  check("Workflow.remove", 1, id, "string")
  for i, wf in ipairs(registry) do
    if wf.id == id or wf.name == id then
      table.remove(registry, i)
      return true
    end
  end
  return false
end

function Workflow.clear()
  local n = #registry
  for i = n, 1, -1 do registry[i] = nil end
  return n
end

function Workflow.types()
  return api.array({ table.unpack(TYPES) })
end

function Workflow.register(kind, config)
  check("Workflow.register", 1, kind, "string")
  check("Workflow.register", 2, config, "table", true)
  if not DESCRIPTIONS[kind] then
    raise(format("Unknown workflow type '%s' (expected %s)", kind, table.concat(TYPES, ", ")))
  end
  config = config or {}
  local spec_config = {}
  for k, v in pairs(config) do spec_config[k] = v end
  spec_config.name = spec_config.name or ("workflow_" .. host.new_id():sub(1, 8))
  if kind == "loop" then spec_config.body = spec_config.body or spec_config.steps or {} end
  if kind == "sequential" then spec_config.steps = spec_config.steps or {} end
  if (kind == "parallel" or kind == "conditional") and spec_config.branches == nil
      and spec_config.steps == nil then
    local wf = new_instance(define(new_spec(kind), "Workflow.register"))
    return wf.id
  end
  return Workflow[kind](spec_config).id
end

function Workflow.setDefaultErrorHandler(fn)
  check("Workflow.setDefaultErrorHandler", 1, fn, "function", true)
  engine.default_error_handler = fn
end

function Workflow.enableDebug(on)
  engine.debug = on == nil or on and true or false
end

function Workflow.isDebugEnabled()
  return engine.debug
end

--- Let other parallel branches run (a no-op outside a parallel branch).
Workflow.yield = engine.yield_point

-- workflow_instance.lua adds the instance methods to Instance
local internals = { Instance = Instance, self_state = self_state, raise = raise }
return setmetatable(Workflow, { __name = "llmspell.Workflow.global" }), internals
