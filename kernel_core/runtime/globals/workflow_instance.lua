-- Methods of workflow instances (wf:execute, wf:get_output, ...). Loaded by workflow.py with
-- (api, engine, internals) where internals comes from workflow.lua.
local api, engine, internals = ...

local type, pairs, ipairs, format, rawget = type, pairs, ipairs, string.format, rawget
local check = api.check
local Instance, self_state, raise = internals.Instance, internals.self_state, internals.raise

function Instance:execute(input)
  self_state("execute", self)
  if type(input) == "string" then input = { text = input } end
  check("execute", 1, input, "table", true)
  local result, err = engine.execute(self, input or {})
  if result == nil then raise(err) end
  return result
end

function Instance:get_info()
  local state = self_state("get_info", self)
  local def = state.def
  local count = def.steps and #def.steps or 0
  for _, b in ipairs(def.branches or {}) do count = count + #b.steps end
  if def.default then count = count + #def.default.steps end
  return { id = state.id, name = def.name, type = def.type, description = def.description,
    step_count = count, error_strategy = def.strategy.name, timeout_ms = def.timeout_ms }
end

function Instance:set_shared_data(key, value)
  local state = self_state("set_shared_data", self)
  check("set_shared_data", 1, key, "string")
  state.shared[key] = value
  return true
end

function Instance:get_shared_data(key)
  local state = self_state("get_shared_data", self)
  if key == nil then return state.shared end
  return state.shared[check("get_shared_data", 1, key, "string")]
end

local function last_run(fname, self)
  local state = self_state(fname, self)
  if state.last_run == nil then
    raise("No workflow execution found. Run execute() first.")
  end
  return state.last_run
end

function Instance:get_execution_id()
  return last_run("get_execution_id", self).exec_id
end

local function output_record(run, record)
  return { step_name = record.name, step_id = format("%s:%d", record.name, record.index),
    output = record.output, success = record.success, error = record.error,
    duration_ms = record.duration_ms, retry_count = (record.attempts or 1) - 1 }
end

function Instance:get_output(step_name)
  local run = last_run("get_output", self)
  check("get_output", 1, step_name, "string")
  local record = run.by_name[step_name]
  return record and output_record(run, record)
end

function Instance:list_outputs()
  local run = last_run("list_outputs", self)
  local names = api.array({})
  for _, record in ipairs(run.records) do names[#names + 1] = record.name end
  return names
end

function Instance:get_all_outputs()
  local run = last_run("get_all_outputs", self)
  local all = {}
  for _, record in ipairs(run.records) do all[record.name] = output_record(run, record) end
  return all
end

function Instance:clear_outputs()
  local state = self_state("clear_outputs", self)
  local run = last_run("clear_outputs", self)
  local deleted = #run.records
  run.records, run.by_name = {}, {}
  state.last_run = run
  return { deleted = deleted }
end

function Instance:get_state(key)
  local state = self_state("get_state", self)
  check("get_state", 1, key, "string")
  state.values = state.values or {}
  return { workflow_id = state.id, key = key, value = state.values[key] }
end

function Instance:set_state(key, value)
  local state = self_state("set_state", self)
  check("set_state", 1, key, "string")
  state.values = state.values or {}
  state.values[key] = value
  return true
end

function Instance:emit(event_name, data)
  local state = self_state("emit", self)
  check("emit", 1, event_name, "string")
  local Event = _G.Event
  if Event and Event.publish then
    Event.publish(event_name, data == nil and { workflow_id = state.id } or data)
  end
  return { success = true, workflow_id = state.id, event_name = event_name }
end

function Instance:validate()
  local state = self_state("validate", self)
  local def, errors, warnings = state.def, api.array({}), api.array({})
  local function empty(list, what)
    if list == nil or #list == 0 then errors[#errors + 1] = what end
  end
  if def.type == "sequential" then empty(def.steps, "workflow has no steps")
  elseif def.type == "loop" then empty(def.steps, "loop has no body steps")
  elseif def.type == "parallel" then empty(def.branches, "parallel workflow has no branches")
  elseif #def.branches == 0 and not def.default then
    errors[#errors + 1] = "conditional workflow has no branches"
  elseif not def.default then
    warnings[#warnings + 1] = "conditional workflow has no else branch: when no condition " ..
      "holds, nothing runs"
  end
  local seen = {}
  local function check_names(list)
    for _, step in ipairs(list or {}) do
      if seen[step.name] then
        warnings[#warnings + 1] = format("step name '%s' is used twice; outputs keep the " ..
          "last one", step.name)
      end
      seen[step.name] = true
    end
  end
  check_names(def.steps)
  for _, b in ipairs(def.branches or {}) do check_names(b.steps) end
  return { valid = #errors == 0, workflow_id = state.id, errors = errors, warnings = warnings }
end

function Instance:debug()
  local state = self_state("debug", self)
  local def = state.def
  local function names(list)
    local out = api.array({})
    for _, s in ipairs(list or {}) do out[#out + 1] = { name = s.name, type = s.type } end
    return out
  end
  local branches = api.array({})
  for _, b in ipairs(def.branches or {}) do
    branches[#branches + 1] = { name = b.name, steps = names(b.steps),
      conditional = b.condition ~= nil }
  end
  return { id = state.id, name = def.name, type = def.type, steps = names(def.steps),
    branches = branches, else_steps = def.default and names(def.default.steps) or nil,
    error_strategy = def.strategy.name, timeout_ms = def.timeout_ms,
    max_iterations = def.max_iterations, max_concurrency = def.max_concurrency,
    last_execution_id = state.last_execution_id, shared_data = state.shared }
end

function Instance:get_metrics()
  local state = self_state("get_metrics", self)
  local m, copy = state.metrics, {}
  for k, v in pairs(m) do copy[k] = v end
  copy.workflow_id = state.id
  copy.average_duration_ms = m.executions > 0 and m.total_duration_ms / m.executions or 0
  return copy
end

for _, pair in ipairs({ { "on_before_execute", "before" }, { "on_after_execute", "after" },
    { "on_error", "error" } }) do
  local fname, slot = pair[1], pair[2]
  Instance[fname] = function(self, fn)
    local state = self_state(fname, self)
    check(fname, 1, fn, "function")
    local list = state.callbacks[slot]
    list[#list + 1] = fn
    return self
  end
end
