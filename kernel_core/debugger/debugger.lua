-- The Lua half of the debugger: breakpoint checks, stepping, stops, frames, variables and
-- evaluation in a frame. Loaded once per runtime with (host, mux, values); host is the
-- Python half (DebugSession), called only to deliver a stop or a log line.
--
-- Breakpoints are checked two ways (notes/lupa-measurements.md §2):
--   * instrumented lines: a chunk loaded while a breakpoint exists on one of its lines gets
--     `__llmspell_bp(LINE)` inserted at that line (line numbers unchanged); ~free elsewhere;
--   * the fallback line hook, installed only while a breakpoint sits on a line of code that
--     was loaded before the breakpoint existed: a Lua hook checking the line number first.
-- Stepping installs a line hook only while a step is in progress.
--
-- Frames are found below an *anchor*: the Lua function on the stopped thread that called
-- into Python; the user's frames are the ones below it that are not llmspell's own (chunk
-- names starting with "=[llmspell]"). They are remembered by their distance from the
-- bottom of the stack, which does not change while Python's helper calls (running on the
-- main thread) push frames on top; a level is computed from it where it is used.
local host, mux, values = ...

local dbg = mux.real_debug or debug -- the full library, even under the restricted sandbox
local getinfo, getlocal, setlocal = dbg.getinfo, dbg.getlocal, dbg.setlocal
local getupvalue, setupvalue = dbg.getupvalue, dbg.setupvalue
local ipairs, tonumber, table = ipairs, tonumber, table
local co_running, co_status = coroutine.running, coroutine.status
local type, pairs, next, tostring, rawget, rawset, select, pcall, load, error =
  type, pairs, next, tostring, rawget, rawset, select, pcall, load, error
local rawequal, rawlen = rawequal, rawlen
local setmetatable, getmetatable, format, sub = setmetatable, getmetatable, string.format,
  string.sub
local G = _G
-- the names compiled checks read (__llmspell_bp, _hc, _num): resolved like globals, not
-- keys of _G (lazy_globals.lua), so a script's pairs(_G) does not meet them
local hidden = mux.hidden_globals or G

local D = {}

-- bps[source][line] = {id=, condition=fn|nil, condition_text=, hit=fn|nil, log=text|nil,
--                      hits=0, enabled=true}
local bps = {}
-- lines whose breakpoints need the fallback hook: fallback[line][source] = true
local fallback, fallback_count = {}, 0
local instrumented = {}   -- instrumented[source][line] = true for lines carrying a check,
                          -- or the condition text compiled into that line (a site)
local sites = {}          -- sites[id] = {source=, line=, condition=}: compiled conditions
local loaded = {}         -- sources llmspell compiled (so a new breakpoint knows it is late)
local step = nil          -- {mode="in"|"over"|"out", thread=, depth=}
local stop_on_entry = false
local filters = { error = false, uncaught = false }
local stopped = nil       -- while stopped: {thread=, anchor=fn, reason=}
D.functions = {}          -- function breakpoints by name: names[name] = {id=, ...}
D.pending_functions = 0   -- function breakpoints waiting for their function (a call hook)

-- llmspell's own code: its Lua files, and the glue Python makes with lupa's eval, whose
-- chunks lupa names "<python>" (the debugger's settle function, the loader of our files)
local function internal(source)
  return sub(source, 1, 11) == "=[llmspell]" or source == "<python>"
end

-- Our stand-ins for library functions (pcall and xpcall while the `error` filter is on):
-- the C function such a stand-in calls is shown under the name the user called.
local stand_in = {}

--- Whether the frame at `level` is a C function one of our frames called (a host function,
--- the real xpcall under our pcall): not the user's, unless a stand-in made the call.
local function called_by_us(thread, level)
  local caller = getinfo(thread, level + 1, "Sf")
  return caller ~= nil and internal(caller.source) and not stand_in[caller.func]
end

-- ---------------------------------------------------------------- stack helpers

--- Number of frames on a thread's stack (binary search over getinfo: O(log depth)).
local function depth(thread)
  local lo, hi = 1, 2
  while getinfo(thread, hi, "l") do lo = hi; hi = hi * 2 end
  while hi - lo > 1 do
    local mid = (lo + hi) // 2
    if getinfo(thread, mid, "l") then lo = mid else hi = mid end
  end
  return lo
end

--- 1 when `thread` is the running thread (a caller sees one frame fewer than its callee).
local function adj(thread)
  return thread == co_running() and 1 or 0
end

--- Level of the anchor function on `thread`'s stack, or nil.
local function anchor_level(thread, anchor)
  local level = 0
  while true do
    local info = getinfo(thread, level, "f")
    if not info then return nil end
    if info.func == anchor then return level end
    level = level + 1
  end
end

--- The visible (user) frames below the anchor: list of levels as seen by this function.
local function user_levels(thread, anchor)
  local base = anchor_level(thread, anchor)
  if not base then return {} end
  base = base - adj(thread) -- anchor_level counted with its own frame on top
  local levels, level, leading = {}, base + 1, true
  while true do
    local info = getinfo(thread, level, "S")
    if not info then break end
    local hide = internal(info.source) or (info.what == "C" and
      (leading or called_by_us(thread, level)))
    if not hide then
      levels[#levels + 1] = level
      leading = false
    end
    level = level + 1
  end
  -- the C frames under the script (the runner's xpcall) are not the user's either
  while #levels > 0 and getinfo(thread, levels[#levels], "S").what == "C" do
    levels[#levels] = nil
  end
  return levels
end

--- The user frames below the anchor as distances from the stack's bottom, innermost first.
local function user_bottoms(thread, anchor)
  local levels = user_levels(thread, anchor)
  local total = depth(thread) -- same numbering as user_levels' (both called from here)
  local out = {}
  for i, level in ipairs(levels) do out[i] = total - level end
  return out
end

--- The innermost user frame below the anchor as its distance from the stack's bottom (what
--- `user_bottoms(thread, anchor)[1]` is, without walking the rest of the stack: a
--- conditional breakpoint in a hot function pays this on every pass).
local function innermost_bottom(thread, anchor)
  local base = anchor_level(thread, anchor)
  if not base then return nil end
  local level = base - adj(thread) + 1 -- anchor_level counted with its own frame on top
  while true do
    local info = getinfo(thread, level, "S")
    if not info then return nil end
    if info.what ~= "C" and not internal(info.source) then
      return depth(thread) - adj(thread) - level -- depth counts its own frame on top
    end
    level = level + 1
  end
end

-- ---------------------------------------------------------------- evaluation in a frame

--- An environment reading (and assigning) the locals and upvalues of a frame, then its _ENV.
--- `bottom` is the frame's distance from the bottom of `thread`'s stack.
local function frame_env(thread, bottom)
  local function find_local(name)
    local found
    local i = 1
    local level = depth(thread) - adj(thread) - bottom -- the stack stays put in this loop
    local value
    while true do
      local n, v = getlocal(thread, level, i)
      if n == nil then break end
      if n == name then found, value = i, v end
      i = i + 1
    end
    return found, value
  end
  local function func()
    local info = getinfo(thread, depth(thread) - adj(thread) - bottom, "f")
    return info and info.func
  end
  local function find_upvalue(f, name)
    if type(f) ~= "function" then return nil end
    local i = 1
    while true do
      local n = getupvalue(f, i)
      if n == nil then return nil end
      if n == name then return i end
      i = i + 1
    end
  end
  local function frame_globals()
    local f = func()
    local i = find_upvalue(f, "_ENV")
    if i then
      local _, env = getupvalue(f, i)
      -- a kernel cell: earlier cells' locals too, not only those it mentions (kernel/repl.lua)
      if rawequal(env, G) and D.repl_is_cell and D.repl_is_cell(f) then return D.repl_env end
      if type(env) == "table" then return env end
    end
    return G
  end
  return setmetatable({}, {
    __index = function(_, name)
      local i, v = find_local(name)
      if i then return v end
      local f = func()
      local u = find_upvalue(f, name)
      if u then
        local _, v = getupvalue(f, u)
        return v
      end
      return frame_globals()[name]
    end,
    __newindex = function(_, name, value)
      local i = find_local(name)
      if i then setlocal(thread, depth(thread) - adj(thread) - bottom, i, value) return end
      local f = func()
      local u = find_upvalue(f, name)
      if u then setupvalue(f, u, value) return end
      frame_globals()[name] = value
    end,
  })
end

--- Compile `text` as an expression (or, failing that, a statement) in `env`.
local function compile(text, env)
  local fn = load("return " .. text, "=(eval)", "t", env)
  if fn then return fn end
  local stmt, err = load(text, "=(eval)", "t", env)
  if stmt then return stmt end
  return nil, err
end
D.compile = compile

local function pack(...) return { n = select("#", ...), ... } end

--- Evaluate in the frame `index` (1 = innermost) of the stop; returns ok, results (packed).
--- Not stopped (or index 0): evaluated in the globals, as a REPL would (the REPL scope of a
--- kernel when it has one: D.repl_env).
function D.evaluate(index, text)
  local env = D.repl_env or G
  local bottom = stopped and index and index > 0 and stopped.bottoms[index]
  if bottom then env = frame_env(stopped.thread, bottom) end
  local fn, err = compile(text, env)
  if not fn then return false, err end
  local r = pack(pcall(fn))
  if not r[1] then return false, tostring(r[2]) end
  return true, r
end

-- ---------------------------------------------------------------- stops

local function deliver(reason, detail, anchor)
  -- Called by `enter_stop` only; blocks in Python until the client resumes.
  return host.stopped(reason, detail)
end

--- Stop here: `anchor` is the Lua function on this stack that called us (frames are found
--- below it). Returns what Python decided: "continue", "in", "over", "out" or "disconnect".
--- `skip` user frames on top are left out (a function breakpoint caught as its function is
--- entered shows the caller on top, as one whose function was wrapped in time does).
local function enter_stop(anchor, reason, detail, skip)
  local thread = co_running()
  local bottoms = user_bottoms(thread, anchor)
  if skip then table.move(bottoms, skip + 1, #bottoms + skip, 1) end
  stopped = { thread = thread, anchor = anchor, reason = reason, bottoms = bottoms }
  local action = deliver(reason, detail, anchor)
  stopped = nil
  if action == "in" or action == "over" or action == "out" then
    local levels = user_levels(thread, anchor)
    local top = levels[1 + (skip or 0)]
    local info = top and getinfo(thread, top, "l")
    local from_line = info and info.currentline
    -- a hook installed mid-line may report the line it was installed on once more: the
    -- first event on the stop's own line and depth is that echo, not a new step
    local pending = true
    local stop_depth = top and (depth(thread) - top + 1) or 0
    step = { mode = action, thread = thread, depth = stop_depth }
    step.first_skip = function(line, running)
      if not pending then return false end
      pending = false
      return line == from_line and running == thread and depth(running) - 3 == stop_depth
    end
  else
    step = nil
  end
  D.apply_mode()
  -- an interrupt requested while stopped armed a hook that apply_mode just replaced: arm again
  host.after_resume()
  return action
end

-- ---------------------------------------------------------------- breakpoint hits

local function interpolate(template, env)
  return (template:gsub("{(.-)}", function(expr)
    local fn = compile(expr, env)
    if not fn then return "{" .. expr .. "}" end
    local ok, v = pcall(fn)
    if not ok then return "<error: " .. tostring(v) .. ">" end
    if type(v) == "string" then return v end
    return values.summary(v)
  end))
end

--- A breakpoint's line was reached in the frame just below `entry` (the caller of hit);
--- `skip`: that many user frames on top are not where it was reached (see enter_stop).
--- `known`: the line already found the condition true (compiled into it: a site).
local function hit(bp, skip, known, counted)
  local thread = co_running()
  local env
  if (bp.condition and not known) or bp.log then
    local bottom
    if skip then bottom = user_bottoms(thread, hit)[1 + skip]
    else bottom = innermost_bottom(thread, hit) end
    if bottom then env = frame_env(thread, bottom) end
  end
  if bp.condition and not known then
    -- compiled once (set_breakpoints); a condition that re-enters its own breakpoint
    -- gets a fresh copy so the outer evaluation keeps its _ENV
    local fn = bp.condition_fn
    if fn and not bp.evaluating then
      setupvalue(fn, 1, env or G) -- upvalue 1 of a loaded chunk is its _ENV
    else
      fn = load("return " .. bp.condition, "=(condition)", "t", env)
      if not fn then return end
    end
    bp.evaluating = true
    local ok, result = pcall(fn)
    bp.evaluating = nil
    if not ok then
      -- said once per breakpoint (as set): a failing condition in a loop is not a flood;
      -- it then counts as false, and the script never sees the error
      if not bp.failed then
        bp.failed = true
        host.output("console", format("breakpoint condition `%s` failed: %s\n", bp.condition,
          tostring(result)))
      end
      return
    end
    if not result then return end
  end
  -- counted here (or in the line: `counted`); Python hears of it only when the breakpoint
  -- stops or logs
  if not counted then
    bp.hits = bp.hits + 1
    if bp.hit and not bp.hit(bp.hits) then return end
  end
  host.hit_count(bp.id, bp.hits)
  if bp.log then
    host.output("console", interpolate(bp.log, env) .. "\n")
    return
  end
  enter_stop(hit, bp.reason or "breakpoint", bp.id, skip)
end

--- Whether the check compiled into `source`'s `line` stands for `bp` as it is now: a plain
--- check evaluates any condition; a site only the condition it holds.
local function covered(source, line, bp)
  local inst = instrumented[source]
  inst = inst and inst[line]
  if type(inst) == "table" then -- a hit count compiled in: {hit = spec}, no condition
    return bp.condition == nil and bp.hit_spec == inst.hit
  end
  return inst == true or (inst ~= nil and inst == bp.condition)
end
local hit_counts = {} -- hit_counts[site]: passes counted by a line that counts them itself
hidden.__llmspell_hc = hit_counts

--- The check instrumented lines call: `__llmspell_bp(LINE, SITE)` (a plain check: SITE
--- names the source without asking Lua, which would allocate), or from a compiled
--- condition `__llmspell_bp(LINE, SITE)` (it was true) and `__llmspell_bp(LINE, SITE,
--- false)` (a name it uses as a number was not one: evaluate it here, protected).
local function bp_check(line, site, state)
  if site then
    local s = sites[site]
    local lines = s and bps[s.source]
    local bp = lines and lines[line]
    if not (bp and bp.enabled) then return end
    if s.hit then
      -- the line counted the pass and its hit condition held on `state`, the count
      if bp.condition ~= nil or bp.hit_spec ~= s.hit then return end -- stale: the hook has it
      bp.hits = state
      return hit(bp, nil, true, true)
    end
    if s.condition == nil then return hit(bp) end
    -- a site whose breakpoint changed is stale: the fallback hook checks that line now
    if bp.condition == s.condition then return hit(bp, nil, state == nil) end
    return
  end
  local source = getinfo(2, "S").source
  local lines = bps[source]
  local bp = lines and lines[line]
  if bp and bp.enabled then return hit(bp) end
end
D.bp_check = bp_check

-- ---------------------------------------------------------------- the line hook

--- A breakpoint on `line` that no compiled check covers (a late one): stop there.
--- Tail-called by a hook, so level 2 is the code that runs.
local function fallback_line(line)
  local sources = fallback[line]
  if sources then
    local source = getinfo(2, "S").source -- tail-called by the hook: level 2 is the code
    if sources[source] then
      local bp = bps[source][line]
      if bp and bp.enabled and not covered(source, line, bp) then
        return hit(bp)
      end
    end
  end
end

-- The line event Lua raises after a count hook (an ask armed from Python, a profiler
-- sample) for the instruction the hook fired at is a new line only when that instruction
-- starts one; in the middle of a line it is an echo of the line already reported, and a
-- step or a breakpoint there would stop twice on one line. `last_line` is the line of the
-- last line event (any thread: cheap, and a switch between threads lands on a line event
-- of its own first); `echo_line` the line a count hook fired on, until the next event.
local last_line, echo_line = nil, nil
mux.on_count_fired = function()
  local info = getinfo(3, "l") -- this, the multiplexer's on_count, the running code
  echo_line = info and info.currentline or nil
end

--- Whether a line event after a count hook is its echo (called only then: `echo_line` set).
local function is_echo(line)
  local echo = echo_line
  echo_line = nil
  return line == echo and line == last_line
end

-- `on_line` is tail-called by the multiplexer's hook: level 2 is the code that runs.
local function on_line(line)
  if echo_line and is_echo(line) then return end
  last_line = line
  if step then
    local thread = co_running()
    if step.mode == "in" then
      local info = getinfo(2, "S")
      if not internal(info.source) and not step.first_skip(line, thread) then
        local reason = step.reason or "step"
        step = nil
        enter_stop(on_line, reason)
        return
      end
    elseif thread == step.thread then
      local info = getinfo(2, "S")
      if not internal(info.source) then
        local now = depth(thread) - 2 -- frames from the running code (level 3 here) down
        if ((step.mode == "over" and now <= step.depth) or
            (step.mode == "out" and now < step.depth)) and not step.first_skip(line, thread) then
          step = nil
          enter_stop(on_line, "step")
          return
        end
      end
    else
      -- another thread runs: when the stepping coroutine yielded or ended (not merely
      -- resumed this one), the step continues in whatever runs now, its resumer
      local status = step.thread and co_status(step.thread)
      if status == "suspended" or status == "dead" then
        local info = getinfo(2, "S")
        if not internal(info.source) then
          step = nil
          enter_stop(on_line, "step")
          return
        end
      end
    end
  end
  if stop_on_entry then
    local info = getinfo(2, "S")
    if not internal(info.source) then
      stop_on_entry = false
      D.apply_mode()
      enter_stop(on_line, "entry")
      return
    end
  end
  return fallback_line(line)
end
mux.handlers.line = on_line

-- The hook while only fallback breakpoints need one: the line check first, nothing else.
local mux_hook = mux.hook
local function fallback_hook(event, line)
  if event == "line" then
    if echo_line and is_echo(line) then return end
    last_line = line
    -- fallback_line inlined: this runs on every line of the run, and most lines find no
    -- entry in `fallback`, so the call it would cost is most of the hook's own work
    local sources = fallback[line]
    if sources then
      local source = getinfo(2, "S").source
      if sources[source] then
        local bp = bps[source][line]
        if bp and bp.enabled and not covered(source, line, bp) then
          return hit(bp)
        end
      end
    end
    return
  end
  return mux_hook(event, line)
end

-- ---------------------------------------------------------------- late breakpoints, gated
-- A line hook on every line of the run costs 14-17x (notes §2, a1). A late breakpoint can
-- only be reached inside a function whose own lines (activelines) hold it, so the gate is
-- a call hook: it looks at each function entered (the answer cached per function) and
-- turns the line hook on while such a function runs, return events telling when it has
-- returned. Loops that call little then run at ~1x. A call hook costs more per call than
-- the line hook per line (~300 ns vs ~110 ns): when calls come faster than GATE_RATE per
-- second of CPU (call-heavy code, fib), the gate gives way to the plain line hook until the
-- breakpoints or the mode change. Coroutines that exist when the gate goes up may be
-- suspended inside such a function, where no call event would announce it: with any
-- coroutine alive the plain hook is used.
local gate_cache = setmetatable({}, { __mode = "k" }) -- function -> holds a late line
local gate_depth = 0      -- frames of such functions entered and not yet returned
local gate_plain = false  -- gave way to the plain line hook
local gate_calls, gate_since = 0, 0
local GATE_BATCH, GATE_RATE = 1024, 1e6
local clock = (os and os.clock) or function() return 0 end -- 0: always give way
local gate_hook

local function gate_hot(f)
  local hot = gate_cache[f]
  if hot == nil then
    hot = false
    local info = getinfo(f, "SL")
    local lines = info and info.activelines
    if lines then
      for line, sources in pairs(fallback) do
        if sources[info.source] and lines[line] then hot = true break end
      end
    end
    gate_cache[f] = hot
  end
  return hot
end

gate_hook = function(event, line)
  if event == "line" then
    if echo_line and is_echo(line) then return end
    last_line = line
    return fallback_line(line)
  end
  if event == "call" or event == "tail call" then
    if gate_hot(getinfo(2, "f").func) then
      gate_depth = gate_depth + 1
      if gate_depth == 1 then mux.set_mode("crl", 0, gate_hook) end
    end
    gate_calls = gate_calls + 1
    if gate_calls >= GATE_BATCH then
      local now = clock()
      if now - gate_since < GATE_BATCH / GATE_RATE then
        gate_plain = true
        mux.set_mode("l", 0, fallback_hook)
      end
      gate_calls, gate_since = 0, now
    end
  elseif event == "return" then
    if gate_depth > 0 and gate_hot(getinfo(2, "f").func) then
      gate_depth = gate_depth - 1
      if gate_depth == 0 then mux.set_mode("c", 0, gate_hook) end
    end
  end
  -- calls and returns go on only to a profiler in exact mode (function breakpoints that
  -- wait for their function keep the plain hook: gate_usable)
  if event ~= "call" and event ~= "tail call" and event ~= "return" or mux.handlers["return"] then
    return mux_hook(event, line)
  end
end

--- Put the gate up: count the frames of hot functions already running (the breakpoint may
--- be in a loop that runs now), then a call hook, with the line hook while any runs.
local function gate_install()
  gate_cache = setmetatable({}, { __mode = "k" }) -- the late lines changed
  gate_depth, gate_calls, gate_since = 0, 0, clock()
  local level = 2
  while true do
    local info = getinfo(level, "f")
    if not info then break end
    if gate_hot(info.func) then gate_depth = gate_depth + 1 end
    level = level + 1
  end
  mux.set_mode(gate_depth > 0 and "crl" or "c", 0, gate_hook)
end

--- Whether the gate may be used: no coroutine alive (see above) and no call hook wanted
--- for function breakpoints.
local function gate_usable()
  local stats = mux.stats
  local alive = stats and (stats.created - stats.forgotten) or 1
  return alive == 0 and D.pending_functions == 0
end

--- Install the hook mask the current state needs (none when idle: zero cost).
function D.apply_mode()
  -- a call hook only while function breakpoints wait for their functions (D.on_call)
  local calls = D.pending_functions > 0 and "c" or ""
  if step or stop_on_entry then
    mux.set_mode("l" .. calls, 0)
  elseif fallback_count > 0 then
    if gate_usable() then
      gate_install()
    else
      mux.set_mode("l" .. calls, 0, fallback_hook)
    end
  elseif calls ~= "" then
    mux.set_mode(calls, 0, D.call_hook)
  else
    mux.set_mode("", 0)
  end
end

-- pause (armed asynchronously from Python, delivered by the multiplexer)
local previous_action = mux.on_async_action
mux.on_async_action = function(action, message)
  if action == "debug" then
    -- serve queued requests here, on the thread that runs; a pause request stops it
    if host.serve_pending() == "pause" then
      local function pause_anchor()
        if not innermost_bottom(co_running(), pause_anchor) then
          -- no script code on the stack (the run is starting, or llmspell's own code
          -- runs): a stop here would show no frame, so stop at the script's next line
          step = { mode = "in", reason = "pause", first_skip = function() return false end }
          D.apply_mode()
          return
        end
        local decision = enter_stop(pause_anchor, "pause")
        return decision
      end
      pause_anchor()
    end
    return
  end
  if previous_action then return previous_action(action, message) end
end

-- ---------------------------------------------------------------- errors

local function on_error(err, caught)
  if stopped then return end
  if (caught and filters.error) or (not caught and (filters.uncaught or filters.error)) then
    if mux.is_abort(err) then return end
    local function error_anchor()
      local decision = enter_stop(error_anchor, "exception", {
        text = type(err) == "string" and err or values.summary(err), caught = caught,
      })
      return decision
    end
    error_anchor()
  end
end
D.on_uncaught = function(err) return on_error(err, false) end

local raw_pcall, raw_xpcall = pcall, xpcall
local function debug_pcall(f, ...)
  return raw_xpcall(f, function(err) on_error(err, true) return err end, ...)
end
local function debug_xpcall(f, handler, ...)
  return raw_xpcall(f, function(err) on_error(err, true) return handler(err) end, ...)
end
stand_in[debug_pcall], stand_in[debug_xpcall] = "pcall", "xpcall"

function D.set_exception_filters(list)
  filters.error, filters.uncaught = false, false
  for _, name in pairs(list) do filters[name] = true end
  if filters.error then
    G.pcall, G.xpcall = debug_pcall, debug_xpcall
  else
    G.pcall, G.xpcall = raw_pcall, raw_xpcall
  end
end

-- ---------------------------------------------------------------- breakpoint table

local function hit_test(spec)
  if not spec or spec == "" then return nil end
  local op, n = spec:match("^%s*([<>=%%!]*)%s*(%d+)%s*$")
  n = tonumber(n)
  if not n then return nil, format("hit condition '%s' is not understood: use 5, >= 3, %% 2 or == 10", spec) end
  if op == "" or op == ">=" then
    if op == "" then return function(h) return h >= n end end
    return function(h) return h >= n end
  elseif op == "==" then return function(h) return h == n end
  elseif op == ">" then return function(h) return h > n end
  elseif op == "<" then return function(h) return h < n end
  elseif op == "<=" then return function(h) return h <= n end
  elseif op == "%" then
    if n == 0 then return nil, "hit condition '% 0' divides by zero" end
    return function(h) return h % n == 0 end
  end
  return nil, format("hit condition '%s' is not understood: use 5, >= 3, %% 2 or == 10", spec)
end

--- Replace the breakpoints of one source. specs: {{id, line, condition, hit, log}}.
--- Returns per spec: {ok, message} (ok=false when its condition does not compile).
function D.set_breakpoints(source, specs)
  -- drop the old ones of this source from the fallback table
  local old = bps[source]
  if old then
    for line in pairs(old) do
      local sources = fallback[line]
      if sources and sources[source] then
        sources[source] = nil
        fallback_count = fallback_count - 1
        if next(sources) == nil then fallback[line] = nil end
      end
    end
  end
  -- lines that count their own hits start again from 0, as bp.hits does
  for id, site in pairs(sites) do
    if site.hit and site.source == source then hit_counts[id] = 0 end
  end
  local lines, results = {}, {}
  for i, spec in ipairs(specs) do
    local result = { ok = true }
    local bp = { id = spec.id, hits = 0, enabled = true, log = spec.log, condition = nil }
    if spec.condition and spec.condition ~= "" then
      local fn, err = load("return " .. spec.condition, "=(condition)", "t", {})
      if not fn then
        result = { ok = false, message = "condition does not compile: " .. tostring(err) }
      else
        bp.condition, bp.condition_fn = spec.condition, fn
      end
    end
    if result.ok and spec.hit and spec.hit ~= "" then
      local test, err = hit_test(spec.hit)
      if not test then result = { ok = false, message = err } else bp.hit, bp.hit_spec = test, spec.hit end
    end
    if result.ok then
      lines[spec.line] = bp
      if loaded[source] and not covered(source, spec.line, bp) then
        fallback[spec.line] = fallback[spec.line] or {}
        if not fallback[spec.line][source] then
          fallback[spec.line][source] = true
          fallback_count = fallback_count + 1
        end
      end
    end
    results[i] = result
  end
  bps[source] = next(lines) and lines or nil
  D.apply_mode()
  return results
end

--- Lines with breakpoints in a source (for instrumentation at load).
function D.breakpoint_lines(source)
  local out = {}
  local lines = bps[source]
  if lines then for line in pairs(lines) do out[#out + 1] = line end end
  return out
end

--- The conditions of a source's breakpoints, and the hit conditions of those without a
--- condition, each by line: instrument.py compiles both in. One call, one walk, because
--- it runs at every load of a file with breakpoints.
function D.breakpoint_checks(source)
  local conditions, hits = {}, {}
  local lines = bps[source]
  if lines then
    for line, bp in pairs(lines) do
      if bp.condition then
        conditions[line] = bp.condition
      elseif bp.hit_spec then
        hits[line] = bp.hit_spec
      end
    end
  end
  return conditions, hits
end

local compiled = {} -- compiled[source] = {line = condition}: the sites of the next load
--- The sites instrument.py compiled into `source` as it is about to load:
--- {{id=, line=, condition=}, ...}.
function D.add_sites(source, list)
  local by_line = {}
  for _, site in ipairs(list) do
    sites[site.id] = { source = source, line = site.line, condition = site.condition,
                       hit = site.hit }
    if site.hit then
      hit_counts[site.id] = 0
      by_line[site.line] = { hit = site.hit }
    else
      by_line[site.line] = site.condition or true
    end
  end
  compiled[source] = by_line
end

--- Record that llmspell compiled `source`, with checks on `lines`.
function D.mark_loaded(source, lines)
  loaded[source] = true
  local set = {}
  local sited = compiled[source] or {}
  compiled[source] = nil
  for _, line in ipairs(lines or {}) do set[line] = sited[line] or true end
  instrumented[source] = set
  -- breakpoints of this source on lines without a check need the fallback hook
  local current = bps[source]
  if current then
    for line, bp in pairs(current) do
      if not covered(source, line, bp) then
        fallback[line] = fallback[line] or {}
        if not fallback[line][source] then
          fallback[line][source] = true
          fallback_count = fallback_count + 1
        end
      end
    end
    D.apply_mode()
  end
end

function D.set_stop_on_entry(on)
  stop_on_entry = on and true or false
  D.apply_mode()
end

function D.clear()
  bps, fallback, fallback_count, step, stop_on_entry = {}, {}, 0, nil, false
  D.set_exception_filters({})
  D.apply_mode()
end

-- ---------------------------------------------------------------- frames and variables

--- A name for a function Lua cannot name (one called from C: pcall, table.sort, ...):
--- a local or upvalue of a frame further out holding it, else a global. Only for stack
--- traces, never on the hot path.
local function guess_name(thread, bottom, func)
  for b = bottom - 1, 0, -1 do
    local level = depth(thread) - adj(thread) - b
    local where = getinfo(thread, level, "S")
    if where and internal(where.source) then goto next_frame end -- our names are not theirs
    local i = 1
    while true do
      local n, v = getlocal(thread, level, i)
      if n == nil then break end
      if rawequal(v, func) and sub(n, 1, 1) ~= "(" then return n end
      i = i + 1
    end
    local info = getinfo(thread, level, "f")
    if info and type(info.func) == "function" then
      i = 1
      while true do
        local n, v = getupvalue(info.func, i)
        if n == nil then break end
        if rawequal(v, func) then return n end
        i = i + 1
      end
    end
    ::next_frame::
  end
  for k, v in next, G do
    if rawequal(v, func) and type(k) == "string" then return k end
  end
  return nil
end

--- The visible frames of the stop: {{source, line, name, what, linedefined}, ...}.
function D.frames()
  if not stopped then return {} end
  local thread, out = stopped.thread, {}
  for i, bottom in ipairs(stopped.bottoms) do
    local level = depth(thread) - adj(thread) - bottom
    local info = getinfo(thread, level, "Slntf")
    local name = info.name
    if info.what == "C" then
      local caller = getinfo(thread, level + 1, "f")
      name = caller and stand_in[caller.func] or name
    end
    if not name and info.what ~= "main" then name = guess_name(thread, bottom, info.func) end
    out[i] = {
      source = info.source, line = info.currentline, name = name or "",
      namewhat = info.namewhat, what = info.what, linedefined = info.linedefined,
      short_src = info.short_src, istailcall = info.istailcall,
    }
  end
  return out
end

function D.stopped_thread()
  return stopped and stopped.thread
end

--- The bottom index of frame `index`; levels are computed by the user with `level_of`.
local function frame_bottom(index)
  return stopped and stopped.bottoms[index]
end

local HIDDEN = { ["(temporary)"] = true, ["(for state)"] = true, ["(C temporary)"] = true }

--- Locals of frame `index`: {{name, value}, ...} (values are raw Lua values).
function D.locals(index)
  local bottom = frame_bottom(index)
  local out = {}
  if not bottom then return out end
  local thread = stopped.thread
  local i = 1
  while true do
    local name, value = getlocal(thread, depth(thread) - adj(thread) - bottom, i)
    if name == nil then break end
    if not HIDDEN[name] and sub(name, 1, 1) ~= "(" then
      out[#out + 1] = { name = name, value = value, index = i }
    end
    i = i + 1
  end
  return out
end

function D.varargs(index)
  local bottom = frame_bottom(index)
  local out = {}
  if not bottom then return out end
  local thread = stopped.thread
  local i = -1
  while true do
    local name, value = getlocal(thread, depth(thread) - adj(thread) - bottom, i)
    if name == nil then break end
    out[#out + 1] = { name = "..." .. (-i), value = value, index = i }
    i = i - 1
  end
  return out
end

function D.upvalues(index)
  local bottom = frame_bottom(index)
  local out = {}
  if not bottom then return out end
  local thread = stopped.thread
  local info = getinfo(thread, depth(thread) - adj(thread) - bottom, "f")
  local f = info and info.func
  if type(f) ~= "function" then return out end
  local i = 1
  while true do
    local name, value = getupvalue(f, i)
    if name == nil then break end
    if name ~= "_ENV" and not D.check_values[name] then
      out[#out + 1] = { name = name, value = value, index = i }
    end
    i = i + 1
  end
  return out
end

function D.frame_function(index)
  local bottom = frame_bottom(index)
  if not bottom then return nil end
  local thread = stopped.thread
  local info = getinfo(thread, depth(thread) - adj(thread) - bottom, "f")
  return info and info.func
end

function D.set_local(index, slot, value)
  local bottom = frame_bottom(index)
  if not bottom then return false end
  local thread = stopped.thread
  return setlocal(thread, depth(thread) - adj(thread) - bottom, slot, value) ~= nil
end

-- setVariable's other writes, and the variables view's metatable of a userdata, go through
-- what this file captured at load: a script may drop or replace the globals `debug`,
-- `rawset` and `getmetatable`, and the restricted sandbox's debug has no setupvalue.
function D.set_upvalue(f, index, value)
  return setupvalue(f, index, value) ~= nil
end

function D.raw_set(t, key, value)
  rawset(t, key, value)
end

function D.metatable(value)
  return getmetatable(value)
end

local function key_order(a, b)
  local ta, tb = type(a.key), type(b.key)
  if ta ~= tb then
    if ta == "number" then return true end
    if tb == "number" then return false end
    return ta < tb
  end
  if ta == "number" or ta == "string" then return a.key < b.key end
  return tostring(a.key) < tostring(b.key)
end

--- A key in the array part 1..n (what editors page as "indexed" children).
local function in_array(k, n)
  return math.type(k) == "integer" and k >= 1 and k <= n
end

--- Entries of a table for the variables view. The array part (keys 1..rawlen) first, in
--- order, then the other keys sorted, then the metatable as a pseudo-entry: DAP's "indexed"
--- and "named" children. `filter` ("indexed", "named" or nil for both) and the 0-based
--- `start`/`count` within it page the list without building what is not asked for (an
--- editor asks a 100 000-element array for 100 at a time). Returns entries, count.
function D.table_entries(t, filter, start, count)
  local out = {}
  local n = rawlen(t)
  start = start or 0
  if filter ~= "named" then
    local last = n
    if filter == "indexed" and count and count > 0 then last = math.min(n, start + count) end
    for i = (filter == "indexed" and start or 0) + 1, last do
      out[#out + 1] = { key = i, value = rawget(t, i) }
    end
  end
  if filter ~= "indexed" then
    local named = {}
    for k, v in next, t do
      if not in_array(k, n) then named[#named + 1] = { key = k, value = v } end
    end
    table.sort(named, key_order)
    for _, entry in ipairs(named) do out[#out + 1] = entry end
    local mt = getmetatable(t)
    if mt ~= nil then out[#out + 1] = { key = "[metatable]", value = mt, meta = true } end
    if start > 0 or (count and count > 0) then -- "named", or no filter: page the whole list
      local paged = {}
      for i = start + 1, count and count > 0 and math.min(#out, start + count) or #out do
        paged[#paged + 1] = out[i]
      end
      out = paged
    end
  end
  return out, #out
end

--- How many indexed (1..rawlen) and named (other keys, and the metatable) children `t` has.
function D.table_counts(t)
  local n = rawlen(t)
  local named = getmetatable(t) ~= nil and 1 or 0
  for k in next, t do
    if not in_array(k, n) then named = named + 1 end
  end
  return n, named
end

function D.function_upvalues(f)
  local out = {}
  local i = 1
  while true do
    local name, value = getupvalue(f, i)
    if name == nil then break end
    out[#out + 1] = { key = name, value = value }
    i = i + 1
  end
  return out
end

function D.describe(v)
  local t = type(v)
  if t == "function" then
    local info = getinfo(v, "S")
    if info.what == "C" then return "function: builtin", "[C]", 0 end
    return format("function <%s:%d>", info.short_src, info.linedefined), info.source,
      info.linedefined
  elseif t == "thread" then
    return format("thread (%s)", co_status(v))
  end
  return values.summary(v)
end

function D.key_name(k)
  if type(k) == "string" then return k end
  if type(k) == "number" then return "[" .. tostring(k) .. "]" end
  return "[" .. values.summary(k) .. "]"
end

function D.eval_value(text, index)
  local thread = stopped and stopped.thread
  local env = G
  local bottom = index and index > 0 and frame_bottom(index)
  if thread and bottom then env = frame_env(thread, bottom) end
  local fn, err = load("return " .. text, "=(eval)", "t", env)
  if not fn then return false, err end
  return pcall(fn)
end

-- ---------------------------------------------------------------- loading code

--- Replace the Lua-file searcher of `require` so modules are instrumented when they load.
function D.install_searcher()
  local searchpath = package.searchpath
  package.searchers[2] = function(name)
    local path, err = searchpath(name, package.path)
    if not path then return "\n\t" .. tostring(err):gsub("^\n\t", "") end
    local source = host.read_source(path)
    if source == nil then return "\n\tcannot read " .. path end
    local chunkname = "@" .. path
    local text, lines = host.prepare(chunkname, source)
    local fn, cerr
    if #lines > 0 then fn = D.load_checked(text, chunkname, G) end
    if not fn then -- no checks, or they broke it: as written
      lines = {}
      fn, cerr = load(source, chunkname, "t")
    end
    if not fn then
      error(format("error loading module '%s' from file '%s':\n\t%s", name, path, cerr), 0)
    end
    D.mark_loaded(chunkname, lines)
    host.module_loaded(chunkname)
    return fn, path
  end
end

function D.loaded_sources()
  local out = {}
  for source in pairs(loaded) do out[#out + 1] = source end
  table.sort(out)
  return out
end

-- globals a script defined (not the standard library or llmspell's)
local builtin_globals = {}
for k in pairs(G) do builtin_globals[k] = true end
function D.user_globals()
  local out = {}
  for k in pairs(G) do
    if type(k) == "string" and not builtin_globals[k] and sub(k, 1, 2) ~= "__" then
      out[#out + 1] = k
    end
  end
  return out
end

-- ---------------------------------------------------------------- function breakpoints

local wrapped = {} -- name -> {owner=, key=, original=}

local function resolve(name)
  local owner, key = G, nil
  local parts = {}
  for part in name:gmatch("[^.:]+") do parts[#parts + 1] = part end
  if #parts == 0 then return nil end
  for i = 1, #parts - 1 do
    owner = owner[parts[i]]
    if type(owner) ~= "table" then return nil end
  end
  key = parts[#parts]
  local value = owner[key]
  if type(value) ~= "function" then
    -- methods of llmspell's classes (AgentInstance.execute, ...) live in method tables
    -- (`Agent.execute` names the method agents have: AgentInstance's)
    local classes = D.classes or {}
    local owner_name = parts[#parts - 1]
    if owner_name then
      for _, class_name in ipairs({ owner_name, owner_name .. "Instance" }) do
        local class = classes[class_name]
        if class and type(rawget(class, key)) == "function" then return class, key end
      end
    end
    return nil
  end
  return owner, key
end

--- Where `name` leads now, read with rawget only (the call hook must not run a script's
--- metamethods): a global, a field path, a loaded module's field, a class's method.
local function find_raw(parts)
  local key = parts[#parts]
  local owner = G
  for i = 1, #parts - 1 do
    local nxt = rawget(owner, parts[i])
    if nxt == nil and i == 1 then nxt = rawget(package.loaded, parts[1]) end
    if type(nxt) ~= "table" then owner = nil break end
    owner = nxt
  end
  if owner and type(rawget(owner, key)) == "function" then return owner, key end
  local owner_name = parts[#parts - 1]
  if owner_name then
    local classes = D.classes or {}
    for _, class_name in ipairs({ owner_name, owner_name .. "Instance" }) do
      local class = rawget(classes, class_name)
      if type(class) == "table" and type(rawget(class, key)) == "function" then
        return class, key
      end
    end
  end
  return nil
end

-- Function breakpoints whose function does not exist yet: name -> {id=, parts=, ...}.
local waiting = {}

local function new_function_bp(id, condition, hit_spec)
  local bp = { id = id, hits = 0, enabled = true, condition = condition,
               reason = "function breakpoint" }
  if hit_spec then bp.hit = hit_test(hit_spec) end
  return bp
end

local install_wrapper -- forward

--- The call hook while function breakpoints wait: each call, look whether their functions
--- exist now (a global assigned, a module required, one of llmspell's classes loaded). A
--- found one is wrapped for the calls to come, and if it is the one being called, this
--- call stops, with the caller on top. Costs a hook call per call, only while one waits.
local function on_call()
  for name, w in next, waiting do
    -- the common case, a global defined later: one rawget, nothing else
    if w.global and rawget(G, w.global) == nil then goto continue end
    local owner, key = find_raw(w.parts)
    if owner then
      waiting[name] = nil
      D.pending_functions = D.pending_functions - 1
      local original = rawget(owner, key)
      install_wrapper(name, owner, key, original, w.bp)
      host.function_bound(w.bp.id)
      if D.pending_functions == 0 then D.apply_mode() end
      local called = getinfo(2, "fS") -- level 2: the function being entered
      if called and called.func == original then
        return hit(w.bp, called.what ~= "C" and 1 or nil)
      end
    end
    ::continue::
  end
end
mux.handlers.call = on_call
mux.handlers["tail call"] = on_call

-- The hook while only waiting function breakpoints need one: calls go straight to on_call
-- (not through the multiplexer's dispatch table); everything else to the multiplexer.
function D.call_hook(event, line)
  if event == "call" or event == "tail call" then return on_call() end
  return mux_hook(event, line)
end

--- Stop when the function named `name` (`Tool.execute`, `helpers.load`) is called. A name
--- that leads nowhere yet waits (on_call); returns ok, message.
function D.wrap_function(name, id, condition, hit_spec)
  local owner, key = resolve(name)
  if not owner then
    local parts = {}
    for part in name:gmatch("[^.:]+") do parts[#parts + 1] = part end
    if #parts == 0 then return false, "a function breakpoint needs a name" end
    if not waiting[name] then D.pending_functions = D.pending_functions + 1 end
    waiting[name] = { parts = parts, global = #parts == 1 and parts[1] or nil,
                      bp = new_function_bp(id, condition, hit_spec) }
    D.apply_mode()
    return false, format("no function named '%s' is defined yet: the breakpoint binds when it is", name)
  end
  local original = rawget(owner, key) or owner[key]
  install_wrapper(name, owner, key, original, new_function_bp(id, condition, hit_spec))
  return true, nil -- always two values: Python unpacks (ok, message)
end

install_wrapper = function(name, owner, key, original, bp)
  local function entry(...)
    hit(bp)
    return original(...)
  end
  local function stop_then_call(...)
    -- `entry` is not a tail call target: hit's frames sit on top of the caller
    local r = table.pack(entry(...))
    return table.unpack(r, 1, r.n)
  end
  rawset(owner, key, stop_then_call)
  wrapped[name] = { owner = owner, key = key, original = original }
end

function D.unwrap_function(name)
  if waiting[name] then
    waiting[name] = nil
    D.pending_functions = D.pending_functions - 1
    D.apply_mode()
  end
  local w = wrapped[name]
  if w then
    rawset(w.owner, w.key, w.original)
    wrapped[name] = nil
  end
end

hidden.__llmspell_bp = bp_check

-- A compiled condition's number check: `__llmspell_num[x]` is true only when x is a number
-- (a table read, ~free when x was seen before: numbers seen are kept, up to a bound; the
-- others ask `__index`). Never raises: t[nil] and t[NaN] read as nil.
do
  local math_type, kept, KEEP = math.type, 0, 4096
  hidden.__llmspell_num = setmetatable({}, { __index = function(t, x)
    if math_type(x) then
      if kept < KEEP and x == x then kept = kept + 1; rawset(t, x, true) end
      return true
    end
    return false
  end })
end
-- ---------------------------------------------------------------- checks as upvalues
-- The names the compiled checks read are upvalues of the chunk, never globals: a script's
-- pairs(_G) must not meet them, and an upvalue is read without a table lookup. A chunk
-- with checks is compiled inside a prelude declaring them, made a main chunk again with its
-- own line numbers (mux.as_main: runtime/lua/main_chunk.lua), and given their values. The
-- names stay in `hidden` too, for a chunk compiled without the prelude (no as_main).
D.check_values = {
  __llmspell_bp = hidden.__llmspell_bp,
  __llmspell_hc = hidden.__llmspell_hc,
  __llmspell_num = hidden.__llmspell_num,
}
D.CHECK_NAMES = "__llmspell_bp, __llmspell_hc, __llmspell_num"

--- Give a compiled chunk its checks (the upvalues of those names; others untouched).
function D.give_checks(fn)
  local i = 1
  while true do
    local name = getupvalue(fn, i)
    if name == nil then return fn end
    local value = D.check_values[name]
    if value ~= nil then setupvalue(fn, i, value) end
    i = i + 1
  end
end

local real_load = mux.real_load or load
--- Compile instrumented `text` (from instrument.py) as a main chunk whose checks are
--- upvalues, `env` its _ENV. Returns nil, message if it does not compile that way (the
--- caller compiles the code as written then).
function D.load_checked(text, chunkname, env)
  local as_main = mux.as_main
  if as_main == nil then
    local fn, err = real_load(text, chunkname, "t", env)
    return fn, err
  end
  if sub(text, 1, 1) == "#" then text = text:gsub("^[^\n]*", "", 1) end -- a #! line
  local outer, err = real_load(
    "local " .. D.CHECK_NAMES .. "; return function(...)\n" .. text .. "\nend", chunkname, "t", env)
  if not outer then return nil, err end
  local ok, inner = pcall(outer)
  if not ok or type(inner) ~= "function" then return nil, tostring(inner) end
  local fn, lerr = as_main(inner)
  if not fn then return nil, lerr end
  local i = 1
  while true do
    local name = getupvalue(fn, i)
    if name == nil then break end
    if name == "_ENV" then setupvalue(fn, i, env or G) end
    i = i + 1
  end
  return D.give_checks(fn), nil
end

return D
