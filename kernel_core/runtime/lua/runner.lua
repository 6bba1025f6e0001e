-- Runs a chunk under xpcall and turns any failure into a plain table Python can read:
-- {message=, abort=kind|nil, exit_code=, frames={innermost first}, coroutine_frames=}.
local host, mux = ...

local xpcall, pack, unpack, type, tostring = xpcall, table.pack, table.unpack, type, tostring
local getmetatable, rawget, pcall = getmetatable, rawget, pcall

local R = {}

local function describe(err)
  if type(err) == "string" then return err end
  local mt = getmetatable(err)
  if mt and mt.__tostring then
    local ok, text = pcall(tostring, err)
    if ok and type(text) == "string" then return text end
  end
  if type(err) == "table" and type(rawget(err, "message")) == "string" then
    return rawget(err, "message")
  end
  if err == nil then return "nil" end
  return "(error object is a " .. type(err) .. " value)"
end

function R.handler(err)
  mux.ending()
  if R.on_error then R.on_error(err) end -- the debugger stops here, the stack intact
  -- an error raised while the run is being aborted is the abort's doing (a host function
  -- that called a Lua callback, such as a hook, hands the abort on as its own error)
  local pending = mux.pending_abort()
  if pending and not mux.is_abort(err) then err = pending end
  local failure = { message = describe(err) }
  if mux.is_abort(err) then
    failure.abort = err.llmspell_abort
    failure.exit_code = err.code
  end
  -- level 1 is capture_frames, 2 this handler, 3 the function that raised (or C error)
  failure.frames = mux.capture_frames(nil, 3)
  if type(err) == "string" then
    failure.coroutine_frames = mux.coroutine_frames[err]
  end
  return failure
end

local function finish(ok, ...)
  if ok then return true, pack(...) end
  local failure = ...
  if type(failure) ~= "table" or failure.frames == nil then
    -- the handler did not run (out of memory) or failed itself
    failure = { message = describe(failure), frames = {} }
    if mux.is_abort(...) then failure.abort = (...).llmspell_abort end
    if failure.message == "not enough memory" and mux.last_seen then
      -- the stack is gone: the last place the memory watcher saw the heap grow
      failure.frames, failure.last_seen = mux.last_seen, true
    end
  end
  return false, failure
end

local function finish_run(ok, ...)
  mux.ending()
  local abort = mux.pending_abort()
  mux.end_run()
  if not ok and abort and rawget(abort, "where") then
    -- the memory watcher's abort carries the frames of where it was raised (a coroutine's
    -- too); the allocator may also have refused while it was on its way (no handler ran)
    return false, { message = abort.message, abort = "memory", frames = abort.where }
  end
  if ok and abort then
    -- the script caught the abort (pcall) and ended before the hook raised it again
    return false, { message = abort.message, abort = abort.llmspell_abort,
      exit_code = abort.code, frames = {} }
  end
  return finish(ok, ...)
end

--- Run fn(...) with the given instruction budget; returns true, results | false, failure.
function R.run(instruction_limit, fn, ...)
  mux.begin_run(instruction_limit)
  -- begin_run installed this run's hook mask, replacing a hook Python armed just before
  -- (a pause or debug request that raced the start of the run): arm it again
  host.rearm_if_pending()
  return finish_run(xpcall(fn, R.handler, ...))
end
mux.unprotected[R.run] = true
mux.unprotected[finish_run] = true
-- building the failure report must not be cut short by the abort it reports (a deep stack
-- takes thousands of instructions to capture)
mux.unprotected[R.handler] = true
mux.unprotected[describe] = true
mux.unprotected[mux.capture_frames] = true
mux.unprotected[mux.is_abort] = true
mux.unprotected[mux.pending_abort] = true
mux.unprotected[mux.ending] = true

--- Compile source text; returns fn | nil, message. A leading #! line is blanked, keeping
--- line numbers.
function R.compile(source, chunkname, env)
  if source:sub(1, 1) == "#" then
    source = source:gsub("^[^\n]*", "", 1)
  end
  local fn, err = load(source, chunkname, "t", env)
  return fn, err
end

R.unpack = unpack
return R
