-- The Lua side of the Debug global: level gating (a filtered-out Debug.debug never reaches
-- Python), argument checks, timer objects, dumps (values.lua), memory statistics and stack
-- traces. Loaded with (api, values, host, real_debug, level, enabled); host is debug_global.py's.
local api, values, host, real_debug, initial_level, initial_enabled = ...

local type, tostring, format, setmetatable, collectgarbage = type, tostring, string.format,
  setmetatable, collectgarbage
local getinfo, getlocal, getupvalue = real_debug.getinfo, real_debug.getlocal,
  real_debug.getupvalue
local check = api.check

local LEVELS = {
  off = 0, none = 0, ["0"] = 0,
  error = 1, err = 1, ["1"] = 1,
  warn = 2, warning = 2, ["2"] = 2,
  info = 3, ["3"] = 3,
  debug = 4, ["4"] = 4,
  trace = 5, ["5"] = 5,
}
local NAMES = { [0] = "OFF", "ERROR", "WARN", "INFO", "DEBUG", "TRACE" }

local function parse_level(v)
  if type(v) == "number" then v = format("%d", v // 1) end
  if type(v) ~= "string" then return nil end
  return LEVELS[v:lower()]
end

local current = parse_level(initial_level) or 3
local enabled = initial_enabled and true or false

local Debug = {}

local function message_arg(fname, i, msg)
  local t = type(msg)
  if t == "string" then return msg end
  if t == "number" then return tostring(msg) end
  error(format("bad argument #%d to '%s' (string expected, got %s)", i, fname,
    msg == nil and "no value" or t), 3)
end

local function emit(level, msg, module, data)
  if module ~= nil then module = tostring(module) end
  host.emit(level, msg, module, data)
end

function Debug.log(level, msg, module)
  local n = parse_level(level)
  msg = message_arg("Debug.log", 2, msg)
  if n == nil or n == 0 or not enabled or n > current then return end
  emit(n, msg, module)
end

for name, n in pairs({ error = 1, warn = 2, info = 3, debug = 4, trace = 5 }) do
  local fname = "Debug." .. name
  Debug[name] = function(msg, module)
    msg = message_arg(fname, 1, msg)
    if not enabled or n > current then return end
    emit(n, msg, module)
  end
end

function Debug.logWithData(level, msg, data, module)
  local n = parse_level(level)
  msg = message_arg("Debug.logWithData", 2, msg)
  if n == nil or n == 0 or not enabled or n > current then return end
  emit(n, msg, module, data)
end

function Debug.setLevel(level)
  local n = parse_level(level)
  if n == nil then return false end
  current = n
  return true
end

function Debug.getLevel() return NAMES[current] end
function Debug.setEnabled(b) enabled = b and true or false end
function Debug.isEnabled() return enabled end

-- ------------------------------------------------------------------ filters and capture

function Debug.addModuleFilter(pattern, on)
  check("Debug.addModuleFilter", 1, pattern, "string")
  local ok = host.add_filter(pattern, nil, on == nil or on)
  return ok
end

function Debug.addAdvancedFilter(pattern, kind, on)
  check("Debug.addAdvancedFilter", 1, pattern, "string")
  check("Debug.addAdvancedFilter", 2, kind, "string")
  local ok, problem = host.add_filter(pattern, kind, on == nil or on)
  if not ok then error(problem, 2) end
  return true
end

function Debug.removeModuleFilter(pattern)
  check("Debug.removeModuleFilter", 1, pattern, "string")
  return host.remove_filter(pattern)
end

Debug.clearModuleFilters = host.clear_filters
function Debug.setDefaultFilterEnabled(on) host.set_default_filter(on and true or false) end
Debug.getFilterSummary = host.filter_summary

function Debug.getCapturedEntries(limit)
  check("Debug.getCapturedEntries", 1, limit, "number", true)
  return host.captured(limit)
end
Debug.clearCaptured = host.clear_captured

-- ------------------------------------------------------------------ timers

local Timer = {}
local timer_mt = { __index = Timer, __name = "DebugTimer" }
timer_mt.__tostring = function(self) return format("DebugTimer(%s, %s)", self.name, self.id) end
api.class("DebugTimer", Timer)

function Debug.timer(name)
  name = check("Debug.timer", 1, name, "string", true) or "timer"
  return setmetatable({ id = host.timer_start(name), name = name }, timer_mt)
end

function Timer.stop(self)
  api.check_self("DebugTimer:stop", self, timer_mt)
  return host.timer_stop(self.id)
end

function Timer.lap(self, name)
  api.check_self("DebugTimer:lap", self, timer_mt)
  name = check("DebugTimer:lap", 1, name, "string", true)
  return host.timer_lap(self.id, name)
end

function Timer.elapsed(self)
  api.check_self("DebugTimer:elapsed", self, timer_mt)
  return host.timer_elapsed(self.id)
end

function Debug.recordEvent(timer_id, name, metadata)
  check("Debug.recordEvent", 1, timer_id, "string")
  check("Debug.recordEvent", 2, name, "string")
  return host.record_event(timer_id, name, metadata)
end

Debug.performanceReport = host.performance_report
Debug.jsonReport = host.json_report
Debug.flameGraph = host.flame_graph

-- ------------------------------------------------------------------ dumps

local function labelled(text, label)
  if label ~= nil then return tostring(label) .. ": " .. text end
  return text
end

function Debug.dump(v, label) return labelled(values.render(v), label) end
function Debug.dumpCompact(v, label)
  return labelled(values.render(v, { compact = true }), label)
end
function Debug.dumpVerbose(v, label)
  return labelled(values.render(v, { max_depth = 32, show_types = true, show_addresses = true }),
    label)
end

function Debug.dumpWithOptions(v, opts, label)
  check("Debug.dumpWithOptions", 2, opts, "table", true)
  local o = {}
  if opts then
    for k, x in pairs(opts) do o[k] = x end
    if opts.indent_size ~= nil then o.indent = opts.indent_size end
    if opts.compact_mode ~= nil then o.compact = opts.compact_mode end
  end
  return labelled(values.render(v, o), label)
end

-- ------------------------------------------------------------------ memory

-- counts completed garbage-collection cycles: a finalizer that re-arms itself each cycle
local collections = 0
local function arm_counter()
  setmetatable({}, { __gc = function()
    collections = collections + 1
    arm_counter()
  end })
end
arm_counter()

function Debug.memoryStats()
  local used = math.floor(collectgarbage("count") * 1024)
  return {
    used_bytes = used,
    allocated_bytes = host.allocated_bytes(used),
    resident_bytes = host.resident_bytes(),
    collections = collections,
  }
end

function Debug.memorySnapshot()
  local stats = Debug.memoryStats()
  stats.timestamp = host.now_iso()
  stats.timers = host.active_timers()
  return stats
end

-- ------------------------------------------------------------------ stack traces

local function frame_name(info)
  if info.name then return info.name end
  if info.what == "main" then return "main chunk" end
  if info.what == "C" then return "?" end
  return "function <" .. info.short_src .. ":" .. info.linedefined .. ">"
end

local function collect_frames(opts, first_level)
  opts = opts or {}
  local max_depth = math.tointeger(opts.max_depth) or 50
  local with_locals, with_upvalues = opts.capture_locals, opts.capture_upvalues
  local with_source = opts.include_source == nil or opts.include_source
  local frames = api.array()
  local level = first_level
  while #frames < max_depth do
    local info = getinfo(level, "Slnuf")
    if not info then break end
    if info.source:sub(1, 11) ~= "=[llmspell]" then
      local frame = {
        level = #frames + 1, name = frame_name(info), source = info.short_src,
        line = info.currentline, what = info.what,
      }
      if with_source and info.currentline > 0 then
        frame.source_line = host.source_line(info.source, info.currentline)
      end
      if with_locals then
        local locals = {}
        local i = 1
        while true do
          local name, value = getlocal(level, i)
          if name == nil then break end
          if name:sub(1, 1) ~= "(" then locals[name] = values.summary(value) end
          i = i + 1
        end
        frame.locals = locals
      end
      if with_upvalues and info.func then
        local ups = {}
        for i = 1, info.nups do
          local name, value = getupvalue(info.func, i)
          if name and name ~= "_ENV" then ups[name] = values.summary(value) end
        end
        frame.upvalues = ups
      end
      frames[#frames + 1] = frame
    end
    level = level + 1
  end
  -- the C functions under the script's outermost frame are the host's entry (xpcall)
  while #frames > 0 and frames[#frames].what == "C" do frames[#frames] = nil end
  return frames
end

local function sorted_pairs_text(t)
  local keys = {}
  for k in pairs(t) do keys[#keys + 1] = k end
  table.sort(keys)
  local parts = {}
  for _, k in ipairs(keys) do parts[#parts + 1] = k .. " = " .. t[k] end
  return table.concat(parts, ", ")
end

function Debug.stackTrace(opts)
  check("Debug.stackTrace", 1, opts, "table", true)
  local frames = collect_frames(opts, 3)
  local lines = { "stack traceback:" }
  for _, f in ipairs(frames) do
    local where = f.line > 0 and (f.source .. ":" .. f.line) or f.source
    lines[#lines + 1] = format("  #%d %s in %s", f.level, where, f.name)
    if f.source_line then lines[#lines + 1] = "      " .. f.source_line end
    if f.locals and next(f.locals) then
      lines[#lines + 1] = "      locals: " .. sorted_pairs_text(f.locals)
    end
    if f.upvalues and next(f.upvalues) then
      lines[#lines + 1] = "      upvalues: " .. sorted_pairs_text(f.upvalues)
    end
  end
  return table.concat(lines, "\n")
end

function Debug.stackTraceJson(opts)
  check("Debug.stackTraceJson", 1, opts, "table", true)
  return host.to_json({ frames = collect_frames(opts, 3) })
end

return Debug
