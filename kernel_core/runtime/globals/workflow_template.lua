-- {{...}} interpolation of workflow step inputs, and the "text" of a step output.
-- Loaded by workflow.py with (stringify); returns the module table.
--
-- A reference names a value of the running workflow:
--   {{input}} {{input.key.sub}}               the workflow's execute() input
--   {{step.NAME}} {{step.NAME.output}}        a finished step's output (also steps.NAME,
--   {{NAME.output}}                           .success .error .duration_ms read the step
--   {{step.NAME.output.field}}                record; other keys walk the output)
--   {{step.NAME.result}} {{NAME.result}}      the step's text output (T.text_of), as
--                                             LLMSpell hands a step's result on: a string
--   {{previous}} {{previous.output}}          the previous step's output (also prev, last;
--                                             previous.result is its text)
--   {{loop.index}} {{loop.value}}             the current loop iteration (index is 1-based)
--   {{shared.key}}                            shared data (wf:set_shared_data, ctx:set_shared)
--   {{workflow.name}} {{workflow.id}} {{workflow.execution_id}} {{workflow.type}}
--   {{NAME}} {{NAME.key}}                     an input key, else a step named NAME
-- A string that is exactly one reference becomes the value itself (a table stays a table);
-- otherwise each reference is replaced by the value's text. References that name nothing
-- are left as written, so tools with their own {{...}} syntax (template-creator) still work.
local stringify = ...

local type, tostring, tonumber, pairs, next, pcall = type, tostring, tonumber, pairs, next, pcall
local format = string.format
local math_type, tointeger = math.type, math.tointeger
local setmetatable, getmetatable = setmetatable, getmetatable

local T = {}

local MISSING = setmetatable({}, { __name = "llmspell.template.missing" })
T.MISSING = MISSING

local RECORD_FIELDS = { success = true, error = true, duration_ms = true, name = true }

--- The text of a value: strings as they are, numbers as Lua writes them, a table's
--- `output`, else `text`, else `result` field (the same rule again), else its JSON.
function T.text_of(value, depth)
  local t = type(value)
  if t == "string" then return value end
  if t == "nil" then return "" end
  if t == "number" then
    if math_type(value) == "integer" then return format("%d", value) end
    return format("%.14g", value)
  end
  if t ~= "table" then return tostring(value) end
  depth = depth or 0
  if depth < 8 then
    for _, key in pairs({ "output", "text", "result" }) do
      local inner = value[key]
      if inner ~= nil and (type(inner) ~= "table" or next(inner) ~= nil) then
        return T.text_of(inner, depth + 1)
      end
    end
  end
  local ok, json = pcall(stringify, value)
  if ok then return json end
  return tostring(value)
end

local function split(expr)
  local parts = {}
  for part in expr:gmatch("[^%.]+") do
    local trimmed = part:match("^%s*(.-)%s*$")
    parts[#parts + 1] = tointeger(tonumber(trimmed)) or trimmed
  end
  return parts
end

local function walk(value, parts, first)
  for i = first, #parts do
    if type(value) ~= "table" then return MISSING end
    local key = parts[i]
    local v = value[key]
    if v == nil and type(key) == "number" then v = value[tostring(key)] end
    if v == nil then return MISSING end
    value = v
  end
  return value
end

-- A step reference: parts[first] is the step name, what follows reads the record.
local function step_ref(scope, parts, first)
  local record = scope.records[parts[first]]
  if record == nil then return MISSING end
  local field = parts[first + 1]
  if field == "result" and parts[first + 2] == nil then return T.text_of(record.output) end
  if field == nil or field == "output" or field == "result" then
    return walk(record.output, parts, first + 2)
  end
  if RECORD_FIELDS[field] and parts[first + 2] == nil then
    local v = record[field]
    if v == nil then return MISSING end
    return v
  end
  return walk(record.output, parts, first + 1)
end

local function previous_ref(scope, parts)
  if not scope.has_previous then return MISSING end
  local field = parts[2]
  if field == "result" and parts[3] == nil then return T.text_of(scope.previous) end
  local first = (field == "output" or field == "result") and 3 or 2
  return walk(scope.previous, parts, first)
end

local ROOTS = {
  input = function(scope, parts) return walk(scope.input, parts, 2) end,
  step = function(scope, parts) return step_ref(scope, parts, 2) end,
  previous = previous_ref,
  loop = function(scope, parts)
    local loop = scope.loop
    if loop == nil then return MISSING end
    return walk({ index = loop.index, iteration = loop.index, value = loop.value }, parts, 2)
  end,
  shared = function(scope, parts) return walk(scope.shared, parts, 2) end,
  workflow = function(scope, parts) return walk(scope.workflow, parts, 2) end,
}
ROOTS.steps, ROOTS.prev, ROOTS.last = ROOTS.step, ROOTS.previous, ROOTS.previous

--- Resolve one reference (the text between the braces); returns the value or MISSING.
function T.lookup(scope, expr)
  local parts = split(expr)
  local root = parts[1]
  if root == nil then return MISSING end
  local special = ROOTS[root]
  if special then
    local v = special(scope, parts)
    if v ~= MISSING then return v end
  end
  local input = scope.input
  local field = parts[2]
  local names_step = scope.records[root] ~= nil
  local input_has = type(input) == "table" and input[root] ~= nil
  if names_step and (field == "output" or field == "result" or RECORD_FIELDS[field]
      or (field == nil and not input_has)) then
    return step_ref(scope, parts, 1)
  end
  if input_has then return walk(input, parts, 1) end
  if names_step then return step_ref(scope, parts, 1) end
  return MISSING
end

local function render_string(scope, s)
  if not s:find("{{", 1, true) then return s end
  local whole = s:match("^{{([^{}]-)}}$")
  if whole then
    local v = T.lookup(scope, whole)
    if v ~= MISSING then return v end
    return s
  end
  return (s:gsub("{{([^{}]-)}}", function(expr)
    local v = T.lookup(scope, expr)
    if v == MISSING then return nil end
    return T.text_of(v)
  end))
end

--- A copy of `value` with every reference in its strings resolved (tables are copied,
--- keys and non-string values are kept; metatables such as JSON.array are preserved).
function T.render(scope, value, seen)
  local t = type(value)
  if t == "string" then return render_string(scope, value) end
  if t ~= "table" or getmetatable(value) ~= nil and getmetatable(value).__index ~= nil then
    return value
  end
  seen = seen or {}
  if seen[value] then return seen[value] end
  local copy = {}
  seen[value] = copy
  for k, v in pairs(value) do copy[k] = T.render(scope, v, seen) end
  return setmetatable(copy, getmetatable(value))
end

return T
