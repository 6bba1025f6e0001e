-- The Lua half of the profiler: records stacks where the hook multiplexer delivers samples
-- (sampling mode) or call/return events (exact mode) and aggregates them here, in Lua, so a
-- sample costs no Python call. Python drains the aggregates about once a second (drain()).
--
-- Loaded once per runtime with (host, mux): host.gap(last_tick) -> current_tick, waits is the
-- one Python call, made only when a sample finds ticks went by without one (the thread sat in
-- a C function or a host call); see kernel_core/profiler/sampler.py.
local host, mux = ...

local getinfo, co_running, co_status = debug.getinfo, coroutine.running, coroutine.status
local collectgarbage, clock, concat, find = collectgarbage, os.clock, table.concat, string.find
local setmetatable, pairs = setmetatable, pairs

local P = {}

local MAX_DEPTH = 200 -- frames walked per sample; deeper stacks get a "(truncated)" root
local SPAN = mux.SAMPLE_SPAN

-- Hook machinery that sits on top of the sampled code: never part of a stack.
local HOOK_CHUNKS = {
  ["=[llmspell] multiplexer.lua"] = true,
  ["=[llmspell] profiler.lua"] = true,
  ["=[llmspell] debugger.lua"] = true,
}

-- Frames: a function's id, cached by function object (weak: closures come and go); ids are
-- shared by functions that look the same (same kind, name, file and line).
local id_of = setmetatable({}, { __mode = "k" })
local kind_of = {} -- id -> kind
local id_text = {} -- id -> its decimal text (stack keys join these)
local frames, frame_count, sent_frames = {}, 0, 0 -- id -> {name, file, line, kind}
local id_by_key = {}

local function intern(name, file, line, kind)
  local key = kind .. "\0" .. name .. "\0" .. file .. "\0" .. line
  local id = id_by_key[key]
  if not id then
    frame_count = frame_count + 1
    id = frame_count
    id_by_key[key] = id
    frames[id] = { name, file, line, kind }
    kind_of[id] = kind
    id_text[id] = tostring(id)
  end
  return id
end

-- A frame's id from getinfo's "Sn" table (`fn` is cached unless nil).
local function identify(info, fn)
  local source, what = info.source, info.what
  if HOOK_CHUNKS[source] then return intern("hook", source, 0, "hook") end
  local file = source
  local first = source:sub(1, 1)
  if first == "@" or first == "=" then file = source:sub(2) else file = info.short_src end
  local kind, name, line
  if what == "C" then
    kind, name, file, line = "C", info.name or "?", "", 0
  elseif what == "main" then
    kind, name, line = "main", "main chunk", 0
  else
    kind, line = "lua", info.linedefined
    -- unnamed (called from C, tail-called, anonymous): named by where it is defined, as Lua
    -- names it in tracebacks but with the file's name only (the frame carries the path)
    name = info.name or ("function <" .. info.short_src:match("[^/\\]*$") .. ":" .. line .. ">")
  end
  -- llmspell's own Lua: its files, and glue Python made with lupa's eval ("<python>")
  if find(source, "=[llmspell]", 1, true) == 1 or source == "<python>" then
    kind = "internal"
    if not info.name then name = file end -- "[llmspell] agent.lua"
  end
  local id = intern(name, file, line, kind)
  if fn then id_of[fn] = id end
  return id
end

-- `level` counts from the caller of describe, as getinfo's would there.
local function describe(level, fn)
  return identify(getinfo(level + 1, "Sn"), fn)
end

-- Aggregates since the last drain.
local stacks, growth, calls, inclusive = {}, {}, {}, {}
local heap_t, heap_k, heap_n = {}, {}, 0
local last_kib

local function add(key, weight)
  stacks[key] = (stacks[key] or 0) + weight
end

local function note_heap(key, t, record)
  local kib = collectgarbage("count")
  if last_kib and kib > last_kib then growth[key] = (growth[key] or 0) + (kib - last_kib) end
  last_kib = kib
  if record then
    heap_n = heap_n + 1
    heap_t[heap_n], heap_k[heap_n] = t, kib
  end
end

-- The stack of the running code as a key "root;...;leaf" of frame ids. `first` is the level
-- to start at. A coroutine's stack goes on with its resumer's (mux.parent_of). Hook machinery
-- is left out (and the C functions it called), frames below the outermost script frame (the
-- runner, xpcall) dropped, and runs of llmspell's own frames shown as their outermost.
local leaf_first = {}
local root_first = {}
local function stack_key(first)
  local n, level = 0, first
  local co = nil -- the thread being walked: nil for the running one (levels from here)
  local truncated = false
  -- the hot loop of a sample: one getinfo per frame, ids cached by function
  while true do
    local info
    if co then info = getinfo(co, level, "f") else info = getinfo(level, "f") end
    if info then
      local fn = info.func
      local id = id_of[fn]
      if not id then
        if co then id = identify(getinfo(co, level, "Sn"), fn) else id = describe(level, fn) end
      end
      n = n + 1
      leaf_first[n] = id
      if n >= MAX_DEPTH then
        truncated = true
        break
      end
      level = level + 1
    else
      local parent = mux.parent_of[co or co_running()]
      if not parent or co_status(parent) ~= "normal" then break end
      co, level = parent, 0
    end
  end
  -- drop the hook machinery and the C functions it called (resume, sethook)
  local m = 0
  for i = 1, n do
    local fid = leaf_first[i]
    local kind = kind_of[fid]
    local next_kind = i < n and kind_of[leaf_first[i + 1]]
    if kind ~= "hook" and not (kind == "C" and next_kind == "hook") then
      m = m + 1
      leaf_first[m] = fid
    end
  end
  n = m
  -- the outermost script frame: below it only the runner's machinery
  local bottom = n
  while bottom > 0 do
    local kind = kind_of[leaf_first[bottom]]
    if kind == "lua" or kind == "main" then break end
    bottom = bottom - 1
  end
  if bottom == 0 then bottom = n end -- nothing of the script's: keep what there is
  m = 0
  if truncated then
    m = 1
    root_first[1] = intern("(truncated)", "", 0, "internal")
  end
  local previous_internal = false
  for i = bottom, 1, -1 do
    local fid = leaf_first[i]
    local kind = kind_of[fid]
    -- a C function llmspell's code called (its pcall) belongs to that code
    local internal = kind == "internal" or (kind == "C" and previous_internal)
    if not (internal and previous_internal) then
      m = m + 1
      root_first[m] = fid
    end
    previous_internal = internal
  end
  if m == 0 then return "" end
  for i = 1, m do root_first[i] = id_text[root_first[i]] end
  return concat(root_first, ";", 1, m)
end

-- ---------------------------------------------------------------- sampling mode

local last_tick = 0 -- absolute tick of the last sample: weights always sum to it
local unsampled = 0 -- running ticks without a sample of their own, since the last drain
local heap_every, heap_tick = 10, -1000000

local function sample(encoded)
  local weight = (encoded - last_tick) % SPAN
  if weight == 0 then return end -- this tick was sampled already (another thread)
  local waits, late
  if weight == 1 then
    last_tick = last_tick + 1
  else
    -- ticks went by without a sample: ask Python how many, what host calls they sat in, and
    -- how many the timer missed (those ran Lua like this one: they count here)
    local now
    now, waits, late = host.gap(last_tick)
    weight = now - last_tick
    if weight <= 0 then return end
    last_tick = now
  end
  local key = stack_key(4) -- 1 stack_key, 2 sample, 3 on_count, 4 the sampled code
  local own = weight
  if waits then
    for name, ticks in pairs(waits) do
      local wait = intern("wait: " .. name, "", 0, "wait")
      add(key == "" and tostring(wait) or key .. ";" .. wait, ticks)
      own = own - ticks
    end
  end
  -- running ticks the timer did not arm (it woke late): spread over the samples by Python
  if late and late > 0 then
    if late > own - 1 then late = own - 1 end
    unsampled = unsampled + late
    own = own - late
  end
  local here = 1
  if own > here then
    -- armed, yet no Lua instruction ran and no host call was active: a C function, a GC
    -- step, the OS not running the thread
    local native = intern("native code", "", 0, "native")
    add(key == "" and tostring(native) or key .. ";" .. native, own - here)
    own = here
  end
  if own > 0 then add(key, own) end
  local record = last_tick - heap_tick >= heap_every
  if record then heap_tick = last_tick end
  note_heap(key, last_tick, record)
end

-- ---------------------------------------------------------------- exact mode

-- One shadow stack per Lua thread: parallel arrays of function, id, start, child time, key.
local shadows = setmetatable({}, { __mode = "k" })
local started_at, heap_clock = 0, -1
local HEAP_PERIOD = 0.02 -- seconds of CPU time between heap points in exact mode

-- Only the running thread's frames accumulate time: a thread's open frames are shifted by
-- the time it was not running (it resumed another, or yielded), so a resumer is not charged
-- for its coroutine's work, nor `yield` for the time until the next resume.
local current = nil -- the shadow stack of the thread that ran last

local function switch_to(s, now)
  if current then current.left_at = now end
  local left = s.left_at
  if left then
    local away = now - left
    local t = s.t
    for i = 1, s.n do t[i] = t[i] + away end
    s.left_at = nil
  end
  current = s
end

local function shadow(now)
  local co = co_running()
  local s = shadows[co]
  if s then
    if s ~= current then switch_to(s, now) end
    return s
  end
  do
    s = {
      n = 0, fn = {}, id = {}, t = {}, child = {}, key = {}, open = {}, script = {},
      internal = {},
    }
    local parent = mux.parent_of[co]
    local ps = parent and shadows[parent]
    if ps and ps.n > 0 and ps.script[ps.n] then s.base_key = ps.key[ps.n] end
    shadows[co] = s
    switch_to(s, now)
  end
  return s
end

local function close(s, now)
  local n = s.n
  local id = s.id[n]
  local elapsed = now - s.t[n]
  local own = elapsed - s.child[n]
  if own < 0 then own = 0 end
  local open = s.open[id] - 1
  s.open[id] = open
  if s.script[n] then
    add(s.key[n], own * 1e6)
    if open == 0 then inclusive[id] = (inclusive[id] or 0) + elapsed * 1e6 end
  end
  s.fn[n], s.key[n] = nil, nil
  n = n - 1
  s.n = n
  if n > 0 then s.child[n] = s.child[n] + elapsed end
end

local function open(s, fn, id, now)
  local n = s.n + 1
  s.n = n
  s.fn[n], s.id[n], s.t[n], s.child[n] = fn, id, now, 0
  s.open[id] = (s.open[id] or 0) + 1
  -- as in sampling mode: nothing below the outermost script frame (the runner's xpcall),
  -- and a run of llmspell's own frames shown as its outermost
  local kind = kind_of[id]
  local below, parent_internal, parent_key
  if n > 1 then
    below, parent_internal, parent_key = s.script[n - 1], s.internal[n - 1], s.key[n - 1]
  else -- a coroutine's first frame goes on from where its resumer was
    below, parent_internal, parent_key = s.base_key ~= nil, false, s.base_key
  end
  local internal = kind == "internal" or (kind == "C" and parent_internal)
  s.internal[n] = internal
  if below then
    if internal and parent_internal then
      s.key[n] = parent_key
    else
      s.key[n] = parent_key .. ";" .. id
    end
    s.script[n] = true
  elseif kind == "lua" or kind == "main" then
    s.key[n], s.script[n] = tostring(id), true
  else
    s.key[n], s.script[n] = tostring(id), false
    return
  end
  calls[id] = (calls[id] or 0) + 1
  if now - heap_clock >= HEAP_PERIOD then
    heap_clock = now
    note_heap(s.key[n], now - started_at, true)
  end
end

local held_at = nil -- exact mode at a debugger stop: nothing recorded, the clock held

-- Whether the shadow's top is reached from the called function's caller through frames
-- that were never recorded (hook machinery, the C functions and llmspell Lua it calls), and
-- whether the hook machinery is among them. Levels: 1 this, 2 the handler, 3 the callee.
local function through_unrecorded(s)
  local top, via_hook = s.fn[s.n], false
  for level = 4, 12 do
    local info = getinfo(level, "f")
    if not info then return false, false end
    local f = info.func
    if f == top then return true, via_hook end
    local kind = kind_of[id_of[f] or describe(level, f)]
    if kind == "hook" then
      via_hook = true
    elseif kind ~= "C" and kind ~= "internal" then
      return false, false
    end
  end
  return false, false
end

local function is_script(id)
  local kind = kind_of[id]
  return kind == "lua" or kind == "main"
end

-- Inside a handler (tail-called by the multiplexer's hook), level 2 is the function the
-- event is about and level 3 its caller.
-- A function was entered: by a call, or by a tail call that replaced the caller's frame.
local function entered(tail)
  if held_at then return end
  local now = clock()
  local info = getinfo(2, "f")
  if not info then return end
  local fn = info.func
  local id = id_of[fn] or describe(2, fn)
  if kind_of[id] == "hook" then return end
  local s = shadow(now)
  if s.n > 0 then
    local caller = getinfo(3, "f")
    local caller_fn = caller and caller.func
    if tail then
      if s.fn[s.n] == caller_fn then
        -- the frame this replaced was never recorded (machinery): a script function it
        -- tail-calls counts as called by the top, anything else is machinery too
        if is_script(id) then open(s, fn, id, now) end
        return
      end
      close(s, now) -- the frame the tail call replaced
    elseif s.fn[s.n] ~= caller_fn then
      local reached, via_hook = through_unrecorded(s)
      if reached then
        -- the machinery's own calls are not the script's; a script function it calls
        -- (the debugger's pcall wrapper calling back) counts as called by the top
        if via_hook and not is_script(id) then return end
      elseif caller_fn and kind_of[id_of[caller_fn] or describe(3, caller_fn)] == "hook" then
        return -- called by the hook machinery (coroutine.resume's wrapper)
      else
        -- frames an error unwound never returned: drop them up to the caller
        while s.n > 0 and s.fn[s.n] ~= caller_fn do close(s, now) end
      end
    end
  end
  open(s, fn, id, now)
end

-- tail calls keep the levels: in `entered`, 2 is still the function entered
local function on_call() return entered(false) end
local function on_tail_call() return entered(true) end

local function on_return()
  if held_at then return end
  local now = clock()
  local s = shadow(now)
  if s.n == 0 then return end
  local info = getinfo(2, "f")
  local fn = info and info.func
  local n = s.n
  if s.fn[n] ~= fn then
    -- deeper down: frames above it were unwound by an error, or this is a call we did not
    -- record of a function that is also on the shadow (a C function such as xpcall is one
    -- object wherever it is called from): only a caller that matches tells them apart
    while n > 0 and s.fn[n] ~= fn do n = n - 1 end
    if n == 0 then return end -- not one we saw called (profiling began inside it)
    if n > 1 then
      local caller = getinfo(3, "f")
      if not caller or caller.func ~= s.fn[n - 1] then return end
    end
  end
  while s.n >= n do close(s, now) end
end

-- ---------------------------------------------------------------- control

local mode

--- Start recording: "sampling" (heap_every: ticks between heap points) or "exact".
function P.start(which, every)
  P.stop()
  mode = which
  last_kib = nil
  if which == "exact" then
    started_at, heap_clock = clock(), -1
    mux.handlers.call = on_call
    mux.handlers["tail call"] = on_tail_call
    mux.handlers["return"] = on_return
    mux.set_extra_mask("cr")
  else
    heap_every = every or 10
    last_tick = 0 -- a new Sampler counts from 0
    heap_tick = -heap_every
    mux.sampler = sample
  end
end

--- Stop recording (the aggregates stay until drained).
function P.stop()
  held_at = nil
  if mode == "exact" then
    mux.handlers.call, mux.handlers["tail call"], mux.handlers["return"] = nil, nil, nil
    mux.set_extra_mask("")
    shadows = setmetatable({}, { __mode = "k" })
    current = nil
  elseif mode == "sampling" then
    mux.sampler = nil
  end
  mode = nil
end

--- Close the exact mode's open frames (the end of a run: errors may have unwound them).
--- The script stopped at a breakpoint (true) or resumed (false): in exact mode, what a
--- client evaluates at the stop is not the script's, and the time stopped does not count.
function P.hold(on)
  if mode ~= "exact" then return end
  if on then
    held_at = held_at or clock()
  elseif held_at then
    local away = clock() - held_at
    held_at = nil
    for _, s in pairs(shadows) do
      for i = 1, s.n do s.t[i] = s.t[i] + away end
    end
  end
end

function P.close_open()
  local now = clock()
  for _, s in pairs(shadows) do
    while s.n > 0 do close(s, now) end
  end
end

--- The absolute tick of the last sample (sampling mode).
function P.last_tick()
  return last_tick
end

--- Hand over and reset what was recorded since the last drain:
--- {frames = {{id, name, file, line, kind}...new}, stacks = {key = weight}, growth = {key = KiB},
---  calls = {id = n}, inclusive = {id = µs}, heap_t = {...}, heap_k = {...}}.
function P.drain()
  local new = {}
  for id = sent_frames + 1, frame_count do
    local f = frames[id]
    new[#new + 1] = { id, f[1], f[2], f[3], f[4] }
  end
  sent_frames = frame_count
  local out = {
    frames = new, stacks = stacks, growth = growth, calls = calls, inclusive = inclusive,
    heap_t = heap_t, heap_k = heap_k, unsampled = unsampled,
  }
  unsampled = 0
  stacks, growth, calls, inclusive = {}, {}, {}, {}
  heap_t, heap_k, heap_n = {}, {}, 0
  return out
end

return P
