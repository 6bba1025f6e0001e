-- The one debug hook of a Lua world, shared by interrupt, limits and (later) the debugger
-- and profiler. Loaded once per runtime with the host table; returns the module table.
--
-- Design (notes/lupa-measurements.md): no hook is installed while nothing needs one. Python
-- arms a count hook asynchronously (lua_sethook from another thread) to interrupt, enforce a
-- time limit or pause; the hook asks Python why, once, then restores the wanted mask.
-- Hooks are per Lua thread, so coroutine.create/wrap are replaced to hook each new thread.
local host = ...

local sethook, gethook, getinfo = debug.sethook, debug.gethook, debug.getinfo
local co_create, co_running, co_status = coroutine.create, coroutine.running, coroutine.status
local co_resume, co_close = coroutine.resume, coroutine.close
local raw_getmetatable, raw_type = debug.getmetatable, type
local format, setmetatable, error, select = string.format, setmetatable, error, select
local pack, unpack = table.pack, table.unpack

local M = {}

-- Threads we hooked: weak keys, so a collected coroutine's proxy is finalized. The proxy
-- references its thread, which resurrects it for the finalizer (Lua 5.4 §2.5.3); the
-- finalizer parks it in `graveyard` so the thread stays allocated until Python forgot its
-- pointer (arming a freed lua_State would write into freed memory).
local threads = setmetatable({}, { __mode = "k" })
local graveyard, graveyard_refs = {}, {}
local gc_mt = {
  __gc = function(proxy)
    graveyard[#graveyard + 1] = proxy.ptr
    graveyard_refs[#graveyard_refs + 1] = proxy.co
  end,
}

-- What every thread should have installed: mask string and count, as debug.sethook takes.
local mode_mask, mode_count = "", 0
-- Events the profiler's exact mode adds to whatever the mode wants ("cr" or "").
local extra_mask = ""
-- Count hooks armed by the sampling profiler's timer carry the tick number (mod SPAN) in
-- their count, SAMPLE_BASE + tick % SAMPLE_SPAN: the hook knows it is a sample, and which
-- tick, without calling Python (kernel_core/profiler/sampler.py arms them). Small counts: a
-- sample must fire within a few instructions, also where Lua runs only a handful between
-- long host calls (an Agent polling its provider).
local SAMPLE_BASE, SAMPLE_SPAN = 2, 8
M.SAMPLE_BASE, M.SAMPLE_SPAN = SAMPLE_BASE, SAMPLE_SPAN
local budget_step, budget_left = 0, nil
local aborting = nil -- the error value to raise while a run is being aborted
local jitter = 17
M.stats = { created = 0, forgotten = 0, async_fired = 0 }

local abort_mt = {
  __tostring = function(self) return self.message end,
}

--- An error value that ends a run: kind is "interrupt", "time", "instructions", "memory"
--- or "exit".
function M.abort_error(kind, message, extra)
  local err = setmetatable({ llmspell_abort = kind, message = message }, abort_mt)
  if extra then for k, v in pairs(extra) do err[k] = v end end
  return err
end

--- Raise an abort from Lua (os.exit) that, like an interrupt, a pcall cannot stop.
function M.raise_abort(kind, message, extra)
  aborting = M.abort_error(kind, message, extra)
  M.apply_all() -- the hook raises it again after a pcall that caught it
  error(aborting, 0)
end

function M.is_abort(err)
  return getmetatable(err) == abort_mt
end

local hook -- forward

local function effective_mask()
  if aborting then
    jitter = (jitter * 1103515245 + 12345) % 2147483648
    return "", 20 + jitter % 61 -- varying period: a loop around pcall cannot dodge it
  end
  local mask = mode_mask
  if extra_mask ~= "" then
    for event in extra_mask:gmatch(".") do
      if not mask:find(event, 1, true) then mask = mask .. event end
    end
  end
  if budget_step > 0 then
    return mask, budget_step
  end
  return mask, mode_count
end

-- The Lua function installed as the hook. Normally `hook` (dispatching by event); a mode may
-- install its own line hook that handles "line" itself and hands every other event to
-- M.hook, which saves a call and a table lookup per line (the debugger's fallback check).
local hook_fn

local function apply(co)
  local mask, count = effective_mask()
  local fn = aborting and hook or hook_fn or hook
  if co == nil then
    sethook(fn, mask, count)
  else
    sethook(co, fn, mask, count)
  end
end

--- Re-apply the wanted hook on every tracked thread (after a mode change).
local main_thread -- set by M.setup

function M.apply_all()
  apply(nil)
  -- a mode changed inside a coroutine (a stop there) must reach the main thread too: a
  -- step that leaves the coroutine continues in it
  if main_thread and co_running() ~= main_thread then apply(main_thread) end
  for co in pairs(threads) do
    if co_status(co) ~= "dead" then apply(co) end
  end
end

local function flush_graveyard()
  if #graveyard > 0 then
    local ptrs = graveyard
    graveyard = {}
    host.threads_forgotten(ptrs)
    M.stats.forgotten = M.stats.forgotten + #ptrs
    graveyard_refs = {}
  end
end
M.flush_graveyard = flush_graveyard

-- Set once the run's report is being built (runner.lua's handler): from there to end_run
-- nothing may raise the abort, not even a function those call (its count may fall there).
local ending = false
function M.ending() ending = true end

-- Whether the abort must not be raised here: in the code that ends the run. Level 3 is the
-- running function (hook tail-calls on_count, which calls this).
local function ending_run()
  if ending then return true end
  local running = getinfo(3, "f")
  return running ~= nil and M.unprotected[running.func] == true
end

-- Where the script is, innermost first: the running thread's frames, then those of the
-- threads that resumed it (a memory limit is reported where the heap grew, also inside a
-- coroutine). Called from on_count; Python trims the hook's own frames.
local function where_frames()
  local frames = M.capture_frames(nil, 2)
  local parent_of, co = M.parent_of, co_running()
  for _ = 1, 50 do
    co = parent_of[co]
    if co == nil then break end
    local more = M.capture_frames(co, 0)
    for i = 1, #more do frames[#frames + 1] = more[i] end
  end
  return frames
end

local function on_count(co)
  local _, mask, count = gethook()
  -- A count hook fired with the line hook on: Lua raises a line event for this same
  -- instruction as soon as it returns (returning from a Lua hook resets the thread's last
  -- pc, so the instruction counts as a jump back), also in the middle of a line. The
  -- debugger tells that echo from a new line (M.on_count_fired).
  if M.on_count_fired and mask:find("l", 1, true) then M.on_count_fired() end
  if count == 1 then
    -- armed asynchronously from Python: ask why, exactly once
    M.stats.async_fired = M.stats.async_fired + 1
    local action, message = host.on_async()
    if action == "where" then
      -- the heap grows near the memory limit: remember where, for an allocation the limit
      -- refuses (LUA_ERRMEM runs no message handler; runtime/memory_watch.py)
      M.last_seen = where_frames()
      apply(nil)
      return
    end
    if action == "memory" and ending_run() then
      -- the run ends already (the allocator refused inside a coroutine Lua's own
      -- coroutine.wrap ran): that error is the report
      apply(nil)
      return
    end
    if action == "interrupt" or action == "time" or action == "memory" then
      aborting = M.abort_error(action, message)
      -- the memory watcher stopped the run before the allocator must refuse: the report
      -- shows where the heap grew, inside a coroutine too
      if action == "memory" then aborting.where = where_frames() end
      M.apply_all()
      -- armed while a C function ran (a read of stdin) that a tail call returned straight
      -- to the code ending the run: raised there it escaped the run (see below); the run's
      -- end reports the pending abort instead
      if ending_run() then return end
      error(aborting, 0)
    elseif action and M.on_async_action then
      apply(nil)
      M.on_async_action(action, message)
      return
    end
    apply(nil)
    return
  end
  if count >= SAMPLE_BASE and count < SAMPLE_BASE + SAMPLE_SPAN and not aborting then
    if budget_left then budget_left = budget_left - count end
    local sampler = M.sampler
    if sampler then sampler(count - SAMPLE_BASE) end
    apply(nil)
    return
  end
  if aborting then
    -- Not in the code that ends the run (the runner after its xpcall, end_run itself):
    -- raised there, the abort escaped the run as a Python LuaError and, end_run never
    -- reached, kept failing every later call. Level 2 is the running function (hook
    -- tail-calls on_count).
    if ending_run() then return end
    apply(nil)
    error(aborting, 0)
  end
  if budget_left then
    budget_left = budget_left - count
    if budget_left < 0 then
      aborting = M.abort_error("instructions",
        format("instruction limit of %d exceeded", M.instruction_limit))
      M.apply_all()
      error(aborting, 0)
    end
  end
end

hook = function(event, line)
  if event == "count" then
    return on_count()
  end
  local handler = M.handlers[event]
  if handler then return handler(line) end
end
M.hook = hook
M.handlers = {}

local function track(co)
  local ptr = format("%p", co)
  threads[co] = setmetatable({ co = co, ptr = ptr }, gc_mt)
  flush_graveyard()
  host.thread_created(ptr)
  M.stats.created = M.stats.created + 1
  apply(co)
end

-- The wrappers below stand in for Lua's C functions: they raise the C functions' argument
-- errors at the script's line (luaL_typeerror's text, the name the call used, as
-- luaL_argerror finds it), not at a line of this file.
local function typename_of(v)
  local mt = raw_getmetatable(v)
  local name = mt and rawget(mt, "__name")
  if raw_type(name) == "string" then return name end
  return raw_type(v)
end

local function bad_argument(fname, expected, nargs, v)
  local info = getinfo(2, "n") -- the wrapper, called by the script's instruction
  local name = info and info.name or fname
  local got = nargs == 0 and "no value" or typename_of(v)
  local extra = format("%s expected, got %s", expected, got)
  if info and info.namewhat == "method" then
    error(format("calling '%s' on bad self (%s)", name, extra), 3)
  end
  error(format("bad argument #1 to '%s' (%s)", name, extra), 3)
end

--- coroutine.create, hooked.
function M.create(...)
  local f = ...
  if raw_type(f) ~= "function" then bad_argument("coroutine.create", "function", select("#", ...), f) end
  local co = co_create(f)
  track(co)
  return co
end

local function wrap_results(co, ok, ...)
  if ok then return ... end
  local err = ...
  if getmetatable(err) == abort_mt then error(err, 0) end
  local frames = M.coroutine_frames and M.capture_frames(co, 0)
  -- as auxwrap: an error inside the coroutine closes its to-be-closed variables (whose
  -- __close may replace the error); a refused resume (dead coroutine) has nothing to close
  if co_status(co) == "dead" then
    local closed, close_err = co_close(co)
    if not closed then err = close_err end
  end
  if raw_type(err) == "string" then
    if err ~= "not enough memory" then -- auxwrap adds no position to a memory error
      local where = getinfo(2, "Sl") -- who called the wrapped function (this is a tail call)
      if where and where.currentline > 0 then
        err = where.short_src .. ":" .. where.currentline .. ": " .. err
      end
    end
    if frames then
      -- keep the dead coroutine's stack for the traceback of an error that escapes
      M.coroutine_frames[err] = frames
    end
  end
  error(err, 0)
end

-- Who resumed each coroutine last: the profiler continues a coroutine's stack with its
-- resumer's, so a flamegraph shows where the coroutine's work came from.
local parent_of = setmetatable({}, { __mode = "k" })
M.parent_of = parent_of

-- An abort (interrupt, limit, os.exit) raised inside a coroutine ends the run, as it does in
-- the main thread: resume hands it on instead of returning it as the coroutine's error.
local function resume_results(ok, ...)
  if not ok and getmetatable((...)) == abort_mt then error((...), 0) end
  return ok, ...
end

--- coroutine.resume, noting the resumer.
function M.resume(...)
  local co = ...
  if raw_type(co) ~= "thread" then bad_argument("coroutine.resume", "thread", select("#", ...), co) end
  parent_of[co] = co_running()
  return resume_results(co_resume(...))
end

--- coroutine.wrap, on top of the hooked create.
function M.wrap(...)
  local f = ...
  if raw_type(f) ~= "function" then bad_argument("coroutine.wrap", "function", select("#", ...), f) end
  local co = co_create(f)
  track(co)
  return function(...)
    parent_of[co] = co_running()
    return wrap_results(co, co_resume(co, ...))
  end
end

--- Live coroutines (not dead): {{co=, status=}, ...}.
function M.live_threads()
  local out = {}
  for co in pairs(threads) do
    local status = co_status(co)
    if status ~= "dead" then out[#out + 1] = { co = co, status = status } end
  end
  return out
end

--- Frames of a thread, innermost first, as plain tables.
function M.capture_frames(co, first_level)
  local frames = {}
  local level = first_level or 1
  while true do
    local info
    if co then info = getinfo(co, level, "Slnt") else info = getinfo(level, "Slnt") end
    if not info then break end
    frames[#frames + 1] = {
      source = info.source, short_src = info.short_src, line = info.currentline,
      name = info.name, namewhat = info.namewhat, what = info.what,
      linedefined = info.linedefined, istailcall = info.istailcall,
    }
    level = level + 1
    if level > 200 then break end
  end
  return frames
end
M.coroutine_frames = setmetatable({}, { __mode = "k" })

--- Start a run: install the budget (0 = none) and clear any abort.
function M.begin_run(instruction_limit)
  aborting, ending = nil, false
  M.last_seen = nil
  M.instruction_limit = instruction_limit
  if instruction_limit and instruction_limit > 0 then
    budget_step = math.max(2, math.min(10000, instruction_limit // 10))
    if budget_step >= SAMPLE_BASE and budget_step < SAMPLE_BASE + SAMPLE_SPAN then
      budget_step = SAMPLE_BASE + SAMPLE_SPAN -- a budget count must not read as a sample
    end
    budget_left = instruction_limit
  else
    budget_step, budget_left = 0, nil
  end
  M.apply_all()
end

--- Functions that run between a run's protected call and its end (see on_count).
M.unprotected = setmetatable({}, { __mode = "k" })

--- The abort being raised in this run, if any (a script may have caught it: pcall).
function M.pending_abort()
  return aborting
end

--- End a run: no hook left behind.
function M.end_run()
  aborting, ending = nil, false
  budget_step, budget_left = 0, nil
  M.apply_all()
  flush_graveyard()
end
M.unprotected[M.end_run] = true

--- Set the mask every thread should carry (used by the debugger and profiler).
--- `fn`, when given, is installed instead of M.hook (it must pass non-line events to M.hook).
function M.set_mode(mask, count, fn)
  mode_mask, mode_count, hook_fn = mask or "", count or 0, fn
  M.apply_all()
end

--- Add hook events for the profiler's exact mode ("cr"), on top of the mode ("" to drop).
function M.set_extra_mask(mask)
  extra_mask = mask or ""
  M.apply_all()
end

--- Called once: track the main thread and hand Python ldblib's C dispatcher pointer.
function M.setup()
  local main = co_running()
  main_thread = main
  sethook(hook, "", 1000000000) -- install so lua_gethook can read the dispatcher
  host.capture_dispatcher(format("%p", main))
  sethook(hook, "", 0) -- mask 0: nothing runs, but `hook` stays registered for this thread
  host.thread_created(format("%p", main))
end

M.pack, M.unpack, M.select = pack, unpack, select
return M
