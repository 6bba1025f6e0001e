-- Workflow steps and conditions: checking the tables scripts write, and running one step.
-- Loaded by workflow.py with (template); returns the module table. Parsers return the
-- parsed value, or nil and a message the builder raises at the script's line.
local template = ...

local type, tostring, pairs, ipairs, format, concat = type, tostring, pairs, ipairs,
  string.format, table.concat
local load, setmetatable, rawget, next = load, setmetatable, rawget, next
local G = _G

local S = {}

local STEP_TYPES = { "tool", "agent", "workflow", "function", "template" }
local IS_STEP_TYPE = {}
for _, t in ipairs(STEP_TYPES) do IS_STEP_TYPE[t] = true end

--- Set by workflow.lua: tells a workflow instance apart from other tables.
S.is_instance = function() return false end

local function describe(v)
  if v == nil then return "nil" end
  return type(v)
end

local function infer_type(raw)
  if raw.fn ~= nil then return "function" end
  if raw.tool ~= nil or raw.tool_name ~= nil then return "tool" end
  if raw.agent ~= nil then return "agent" end
  if raw.workflow ~= nil then return "workflow" end
  if raw.template_id ~= nil or raw.template ~= nil then return "template" end
  return nil
end

local function check_number(raw, key, label)
  local v = raw[key]
  if v ~= nil and type(v) ~= "number" then
    return format("%s: '%s' must be a number, got %s", label, key, describe(v))
  end
end

--- Check one step table; `index` names it when it has no name.
function S.parse(raw, label, index)
  if type(raw) ~= "table" or S.is_instance(raw) then
    return nil, format("%s: a step must be a table like {name=, type=, ...}, got %s",
      label, S.is_instance(raw) and "a workflow (use {type=\"workflow\", workflow=wf})"
        or describe(raw))
  end
  local kind = raw.type or infer_type(raw)
  if kind == nil then
    return nil, format("%s: step %s has no type (set type = \"tool\", \"agent\", " ..
      "\"workflow\", \"function\" or \"template\")", label,
      raw.name and ("'" .. tostring(raw.name) .. "'") or "#" .. index)
  end
  if not IS_STEP_TYPE[kind] then
    return nil, format("%s: Unknown step type '%s' (expected %s)", label, tostring(kind),
      concat(STEP_TYPES, ", "))
  end
  local step = {
    type = kind,
    input = raw.input,
    timeout_ms = raw.timeout_ms,
    retry_count = raw.retry_count,
    retry_delay_ms = raw.retry_delay_ms,
    update = raw.update,
  }
  if step.input == nil then step.input = raw.params or raw.parameters end
  for _, key in ipairs({ "timeout_ms", "retry_count", "retry_delay_ms" }) do
    local problem = check_number(raw, key, label)
    if problem then return nil, problem end
  end
  if step.update ~= nil and type(step.update) ~= "function" then
    return nil, format("%s: 'update' must be a function(ctx, output), got %s", label,
      describe(step.update))
  end

  local default_name
  if kind == "function" then
    if type(raw.fn) ~= "function" then
      return nil, format("%s: function step needs fn = function(input, ctx) ... end, got %s",
        label, describe(raw.fn))
    end
    step.fn = raw.fn
  elseif kind == "tool" then
    local tool = raw.tool or raw.tool_name
    if type(tool) == "number" then tool = tostring(tool) end
    if type(tool) ~= "string" or tool == "" then
      return nil, format("%s: tool step needs tool = \"<tool name>\", got %s", label,
        describe(tool))
    end
    step.tool, default_name = tool, tool
  elseif kind == "agent" then
    local agent = raw.agent
    if type(agent) ~= "string" and type(agent) ~= "table" and type(agent) ~= "userdata" then
      return nil, format("%s: agent step needs agent = \"<agent name>\" (or an agent), got %s",
        label, describe(agent))
    end
    step.agent = agent
    if type(agent) == "string" then default_name = agent end
  elseif kind == "workflow" then
    local wf = raw.workflow
    if not S.is_instance(wf) and type(wf) ~= "string" then
      return nil, format("%s: workflow step needs workflow = <a built workflow> (or its " ..
        "name), got %s", label, describe(wf))
    end
    step.workflow = wf
    default_name = type(wf) == "string" and wf or wf.name
  else -- template
    if raw.template_id ~= nil then
      if type(raw.template_id) ~= "string" then
        return nil, format("%s: 'template_id' must be a string, got %s", label,
          describe(raw.template_id))
      end
      step.template_id, default_name = raw.template_id, raw.template_id
    elseif type(raw.template) == "string" or type(raw.template) == "table" then
      step.template = raw.template
    else
      return nil, format("%s: template step needs template_id = \"<id>\" or " ..
        "template = \"text with {{...}}\"", label)
    end
  end

  local name = raw.name
  if type(name) == "number" then name = tostring(name) end
  if name ~= nil and (type(name) ~= "string" or name == "") then
    return nil, format("%s: step 'name' must be a non-empty string, got %s", label,
      describe(name))
  end
  step.name = name or default_name or format("step_%d", index)
  return step
end

--- Check a list of steps (a sequence table or a single step table).
function S.parse_list(list, label)
  if type(list) ~= "table" or S.is_instance(list) then
    return nil, format("%s: steps must be a table of steps, got %s", label, describe(list))
  end
  if list[1] == nil and next(list) ~= nil then list = { list } end -- one step given
  local steps = {}
  for i, raw in ipairs(list) do
    local step, err = S.parse(raw, format("%s, step #%d", label, i), i)
    if not step then return nil, err end
    steps[#steps + 1] = step
  end
  return steps
end

-- ---------------------------------------------------------------- conditions

local CONDITION_TYPES = { "always", "never", "shared_data_equals", "shared_data_exists",
  "input_equals", "input_exists", "step_succeeded", "step_failed", "step_output_equals",
  "step_output_contains", "and", "or", "not", "expression" }
local NEEDS = {
  shared_data_equals = { "key" }, shared_data_exists = { "key" },
  input_equals = { "key" }, input_exists = { "key" },
  step_succeeded = { "step" }, step_failed = { "step" },
  step_output_equals = { "step" }, step_output_contains = { "step", "value" },
  expression = { "expression" },
}

-- A Lua expression evaluated with the context's fields, then the globals, as variables.
local function compile_expression(text, label)
  local current
  local env = setmetatable({}, {
    __index = function(_, k)
      local v = current and current[k]
      if v ~= nil then return v end
      return G[k]
    end,
    __newindex = function(_, k, v) if current then current[k] = v end end,
  })
  local chunk, err = load("return (" .. text .. ")", "=(condition)", "t", env)
  if not chunk then
    return nil, format("%s: condition %q is not a Lua expression: %s", label, text, err)
  end
  return function(view)
    current = view
    return chunk()
  end
end

--- Check a condition: a function(ctx), a boolean, "always"/"never", a Lua expression string,
--- or a table {type=...}; returns {test=function(view, run) -> boolean} or nil, message.
function S.parse_condition(c, label)
  local t = type(c)
  if t == "function" then
    return { kind = "function", test = function(view) return c(view) and true or false end }
  end
  if t == "boolean" then
    return { kind = c and "always" or "never", test = function() return c end }
  end
  if t == "string" then
    if c == "always" or c == "never" then return S.parse_condition({ type = c }, label) end
    local eval, err = compile_expression(c, label)
    if not eval then return nil, err end
    return { kind = "expression", test = function(view) return eval(view) and true or false end }
  end
  if t ~= "table" then
    return nil, format("%s: condition must be a function, a table {type=...} or a Lua " ..
      "expression string, got %s", label, describe(c))
  end
  local kind = c.type
  local known = false
  for _, k in ipairs(CONDITION_TYPES) do known = known or k == kind end
  if not known then
    return nil, format("%s: Unknown condition type '%s' (expected %s)", label, tostring(kind),
      concat(CONDITION_TYPES, ", "))
  end
  for _, key in ipairs(NEEDS[kind] or {}) do
    if c[key] == nil then
      return nil, format("%s: condition type '%s' needs '%s'", label, kind, key)
    end
  end
  local key, value, step = c.key, c.value, c.step
  local test
  if kind == "always" then
    test = function() return true end
  elseif kind == "never" then
    test = function() return false end
  elseif kind == "shared_data_equals" then
    test = function(_, run) return run.shared[key] == value end
  elseif kind == "shared_data_exists" then
    test = function(_, run) return run.shared[key] ~= nil end
  elseif kind == "input_equals" then
    test = function(_, run) return type(run.input) == "table" and run.input[key] == value end
  elseif kind == "input_exists" then
    test = function(_, run) return type(run.input) == "table" and run.input[key] ~= nil end
  elseif kind == "step_succeeded" or kind == "step_failed" then
    local want = kind == "step_succeeded"
    test = function(_, run)
      local record = run.by_name[step]
      return record ~= nil and record.success == want
    end
  elseif kind == "step_output_equals" then
    test = function(_, run)
      local record = run.by_name[step]
      return record ~= nil and record.output == value
    end
  elseif kind == "step_output_contains" then
    local needle = tostring(value)
    test = function(_, run)
      local record = run.by_name[step]
      return record ~= nil and template.text_of(record.output):find(needle, 1, true) ~= nil
    end
  elseif kind == "expression" then
    local eval, err = compile_expression(tostring(c.expression), label)
    if not eval then return nil, err end
    test = function(view) return eval(view) and true or false end
  else -- and / or / not
    local parts = {}
    local list = kind == "not" and { c.condition or c.conditions and c.conditions[1] }
      or c.conditions
    if type(list) ~= "table" or list[1] == nil then
      return nil, format("%s: condition type '%s' needs %s", label, kind,
        kind == "not" and "condition = {...}" or "conditions = { {...}, ... }")
    end
    for i, sub in ipairs(list) do
      local parsed, err = S.parse_condition(sub, format("%s (part %d)", label, i))
      if not parsed then return nil, err end
      parts[i] = parsed.test
    end
    if kind == "not" then
      test = function(view, run) return not parts[1](view, run) end
    elseif kind == "and" then
      test = function(view, run)
        for _, p in ipairs(parts) do if not p(view, run) then return false end end
        return true
      end
    else
      test = function(view, run)
        for _, p in ipairs(parts) do if p(view, run) then return true end end
        return false
      end
    end
  end
  return { kind = kind, test = test }
end

-- ---------------------------------------------------------------- running one step

local function global(name, step)
  local g = G[name] -- (not rawget: globals are installed on first use)
  if g == nil then
    error(format("step '%s' needs the %s global, which is not available", step.name, name), 0)
  end
  return g
end

local function failure_message(result)
  local err = result.error
  if type(err) == "table" then err = err.message or template.text_of(err) end
  return tostring(err or result.message or "it reported success = false")
end

-- The prompt table an agent's execute() expects: {text=...}.
local function agent_request(input)
  if type(input) == "string" then return { text = input } end
  if type(input) ~= "table" then return { text = template.text_of(input) } end
  if type(input.text) == "string" then return input end
  local request = {}
  for k, v in pairs(input) do request[k] = v end
  local text = input.prompt or input.input or input.query or input.message
  request.text = type(text) == "string" and text or template.text_of(input)
  return request
end

local runners = {}

function runners.tool(step, input)
  local Tool = global("Tool", step)
  if input == nil then input = {} end
  if type(input) ~= "table" then
    error(format("tool step '%s': input must be a table of parameters, got %s", step.name,
      describe(input)), 0)
  end
  -- through pcall: Tool.execute raises at its caller's line, which would be this file's
  local ok, result = pcall(Tool.execute, step.tool, input)
  if not ok then error(result, 0) end
  if type(result) == "table" and result.success == false then
    error(format("tool '%s' failed: %s", step.tool, failure_message(result)), 0)
  end
  return result
end

function runners.agent(step, input)
  local agent = step.agent
  if type(agent) == "string" then
    agent = global("Agent", step).get(step.agent)
    if agent == nil then
      error(format("Agent '%s' not found (build it first with Agent.builder():name(%q)" ..
        "...:build())", step.agent, step.agent), 0)
    end
  end
  local request = agent_request(input)
  if request.text == nil or request.text == "" then
    error(format("agent step '%s': Agent input cannot be empty (give the step an input, " ..
      "or run it after a step whose output is the prompt)", step.name), 0)
  end
  local response = agent:execute(request)
  local text = type(response) == "table" and response.text
  if type(text) ~= "string" then text = template.text_of(response) end
  return text, { response = response, agent_name = type(step.agent) == "string"
    and step.agent or step.name }
end

function runners.workflow(step, input, _, _, env)
  local wf = step.workflow
  if type(wf) == "string" then
    wf = env.find(wf)
    if wf == nil then error(format("Workflow '%s' not found", step.workflow), 0) end
  end
  if input ~= nil and type(input) ~= "table" then
    input = type(input) == "string" and { text = input } or { value = input }
  end
  local result = env.execute(wf, input or {})
  if result.success == false then
    error(format("workflow '%s' %s: %s", wf.name, result.status or "failed",
      tostring(result.error)), 0)
  end
  return result.output, { workflow_result = result }
end

function runners.template(step, input, _, scope)
  if step.template_id then
    local Template = global("Template", step)
    return Template.execute(step.template_id, input or {})
  end
  return template.render(scope, step.template)
end

runners["function"] = function(step, input, view)
  local output, err = step.fn(input, view)
  if output == nil and err ~= nil then error(tostring(err), 0) end
  return output
end

--- Run one step on its (already rendered) input; returns output, extra or raises.
--- `env.find(name)` finds a workflow by id or name, `env.execute(wf, input)` runs a nested
--- one (raising its failure message).
function S.run(step, input, view, scope, env)
  return runners[step.type](step, input, view, scope, env)
end

--- The input a step gets when it has none: the previous output, except for tools, whose
--- parameters are always explicit (`input = "{{previous}}"` pipes a table in).
function S.default_input(step, previous)
  if step.type == "tool" then return nil end
  return previous
end

return S
