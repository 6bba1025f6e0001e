-- Shapes the global environment a script sees: output to the runtime's sink, os.exit that
-- ends the script instead of the host, require paths, and the restricted sandbox.
-- Loaded with (host, mux, options); options = {level=, package_path=, hook_coroutines=,
-- native_stdout=, native_stderr=, native_stdin=}. A native stream keeps Lua's own C
-- functions and file handle (print, io.write, io.stdout...): the process's descriptor is
-- the script's, or is captured at the descriptor level (runtime/native_streams.py).
-- Libraries are changed in place, so `require "io" == io` as in Lua.
local host, mux, options = ...

local type, tostring, select, error, format = type, tostring, select, error, string.format
local concat, math_type = table.concat, math.type
local G = _G

-- ---------------------------------------------------------------- output
local write = host.write

local function render_arg(v, i, fname)
  local t = type(v)
  if t == "string" then return v end
  if t == "number" then
    if math_type(v) == "integer" then return format("%d", v) end
    return format("%.14g", v)
  end
  error(format("bad argument #%d to '%s' (string expected, got %s)", i, fname,
    t == "nil" and "no value" or t), 3)
end

if not options.native_stdout then
  G.print = function(...)
    local n = select("#", ...)
    local parts = {}
    for i = 1, n do parts[i] = tostring((select(i, ...))) end
    write("stdout", concat(parts, "\t") .. "\n")
  end
end

local function make_stream(name)
  local stream = {}
  local function swrite(self, ...)
    local n = select("#", ...)
    local parts = {}
    for i = 1, n do parts[i] = render_arg((select(i, ...)), i, "write") end
    write(name, concat(parts))
    return self
  end
  stream.write = swrite
  stream.flush = function(self) return self end
  stream.setvbuf = function() return true end
  stream.close = function() return nil, "cannot close standard file" end
  stream.lines = function() error("cannot read from " .. name, 2) end
  stream.seek = function() return nil, "Illegal seek", 29 end
  setmetatable(stream, { __name = "FILE*", __tostring = function() return "file (" .. name .. ")" end })
  return stream
end

local real_io = G.io
local io = real_io -- changed in place: the real functions are read before they are replaced
local real_output, real_input, real_lines = real_io.output, real_io.input, real_io.lines
local real_type, real_close = real_io.type, real_io.close
-- Streams that stand in for a standard file (a sink's): io.type, io.close, io.input and
-- io.output treat them as the standard files they stand for.
local standins = {}
io.type = function(...)
  if standins[(...)] then return "file" end
  return real_type(...)
end
if not options.native_stdout then
  local stdout = make_stream("stdout")
  standins[stdout] = true
  io.stdout = stdout
  local current = stdout -- the default output file: io.output(f) can make it a real file
  io.write = function(...)
    if current ~= stdout then return current:write(...) end
    local n = select("#", ...)
    local parts = {}
    for i = 1, n do parts[i] = render_arg((select(i, ...)), i, "write") end
    write("stdout", concat(parts))
    return stdout
  end
  io.output = function(f)
    if f == nil then return current end
    if rawequal(f, stdout) then current = stdout return stdout end
    current = real_output(f)
    return current
  end
  io.close = function(...)
    local f = ...
    if select("#", ...) == 0 then f = current end
    if standins[f] then return nil, "cannot close standard file" end
    return real_close(f)
  end
end
if not options.native_stderr then
  io.stderr = make_stream("stderr")
  standins[io.stderr] = true
end

if not options.native_stdin then
  local read = host.read
  local stdin = {
    read = function(self, ...) return read(...) end,
    lines = function(self, fmt) return function() return read(fmt or "l") end end,
    close = function() return nil, "cannot close standard file" end,
  }
  setmetatable(stdin, { __name = "FILE*", __tostring = function() return "file (stdin)" end })
  standins[stdin] = true
  io.stdin = stdin
  local current = stdin -- the default input file: io.input(f) can make it a real file
  io.read = function(...)
    if current ~= stdin then return current:read(...) end
    return read(...)
  end
  io.input = function(f)
    if f == nil then return current end
    if rawequal(f, stdin) then current = stdin return stdin end
    current = real_input(f)
    return current
  end
  io.lines = function(filename, ...)
    if filename == nil then
      if current ~= stdin then return current:lines(...) end
      return stdin:lines(...)
    end
    return real_lines(filename, ...)
  end
end

-- ---------------------------------------------------------------- os.exit ends the script
local os = G.os -- in place, as io
local getinfo = debug.getinfo
os.exit = function(code)
  local status
  if code == nil or code == true then status = 0
  elseif code == false then status = 1
  else
    -- luaL_optinteger's rule and errors: a number or a numeric string, integral
    local t, n = type(code), tonumber(code)
    local info = getinfo(1, "n")
    local name = info and info.name or "os.exit"
    if (t ~= "number" and t ~= "string") or n == nil then
      error(format("bad argument #1 to '%s' (number expected, got %s)", name, t), 2)
    end
    status = math.tointeger(n)
    if status == nil then
      error(format("bad argument #1 to '%s' (number has no integer representation)", name), 2)
    end
  end
  mux.raise_abort("exit", format("script called os.exit(%d)", status), { code = status })
end

-- ---------------------------------------------------------------- require paths
package.path = options.package_path
if options.level == "restricted" then
  package.cpath = ""
end

-- the full debug library stays reachable for llmspell's own globals (Debug.stackTrace)
mux.real_debug = G.debug
-- and Lua's own load, which the restricted one wraps (kernel/repl.lua loads cells as binary)
mux.real_load = G.load

-- ---------------------------------------------------------------- coroutines are hooked
-- (in place: require "coroutine" is the same table, as in Lua; the unhooked library would
-- make coroutines that no interrupt or limit reaches). Without a debugger, profiler or limit
-- to serve (llmspell run), Lua's own functions stay: Ctrl+C then reaches the main thread,
-- as lua.c's does.
local coroutine = G.coroutine
if options.hook_coroutines then
  coroutine.create, coroutine.wrap, coroutine.resume = mux.create, mux.wrap, mux.resume
end

-- ---------------------------------------------------------------- os.execute
-- Lua's own blocks in system(), where no interrupt or time limit reaches it: host.execute
-- runs the same /bin/sh -c and stops it on an abort (runtime/os_execute.py). Lua's results
-- and argument errors; os.execute() with no command asks whether a shell exists.
local real_execute, host_execute = os.execute, host.execute
os.execute = function(command)
  if command == nil then return real_execute() end
  local t = type(command)
  if t ~= "string" and t ~= "number" then
    error(format("bad argument #1 to 'execute' (string expected, got %s)", t), 2)
  end
  return host_execute(tostring(command))
end

if options.level ~= "restricted" then return end

-- ---------------------------------------------------------------- restricted sandbox
local HOW = 'set [runtime] sandbox = "trusted" in llmspell.toml or run with --sandbox trusted'

local function refuse(name)
  return function()
    error(format("%s is not allowed in the restricted sandbox (%s)", name, HOW), 2)
  end
end

os.execute = refuse("os.execute")
io.popen = refuse("io.popen")
package.loadlib = refuse("package.loadlib")
-- drop the C-library searchers (3: C, 4: all-in-one)
package.searchers[4] = nil
package.searchers[3] = nil

local check_path = host.check_path
local function guard(name, fn, write_arg)
  return function(path, ...)
    -- the C functions take a number as its text: io.open(1) opens "./1"
    if type(path) == "number" then path = tostring(path) end
    if type(path) == "string" then
      local problem = check_path(path, name, write_arg and write_arg(...) or false)
      if problem then error(problem, 2) end
    end
    return fn(path, ...)
  end
end

local function mode_writes(mode)
  return type(mode) == "string" and mode:find("[wa+]") ~= nil
end

io.open = guard("io.open", real_io.open, mode_writes)
io.lines = guard("io.lines", io.lines)
io.input = guard("io.input", io.input)
io.output = guard("io.output", io.output, function() return true end)
os.remove = guard("os.remove", os.remove, function() return true end)
local real_rename = os.rename
os.rename = function(from, to)
  for _, p in ipairs({ from, to }) do
    if type(p) == "string" then
      local problem = check_path(p, "os.rename", true)
      if problem then error(problem, 2) end
    end
  end
  return real_rename(from, to)
end

local real_load = G.load
local function text_only(name, mode)
  if mode ~= nil and type(mode) == "string" and not mode:find("t") then
    error(format("%s: binary chunks are not allowed in the restricted sandbox (%s)", name, HOW), 3)
  end
  return "t"
end
G.load = function(chunk, chunkname, mode, ...)
  mode = text_only("load", mode)
  if select("#", ...) == 0 then return real_load(chunk, chunkname, mode) end
  return real_load(chunk, chunkname, mode, (...))
end
local real_loadfile = G.loadfile
local note_loaded = host.note_loaded
G.loadfile = guard("loadfile", function(path, mode, ...)
  local fn, err = real_loadfile(path, text_only("loadfile", mode), ...)
  if fn and path ~= nil then note_loaded(path) end
  return fn, err
end)
G.dofile = guard("dofile", function(path)
  local fn, err = real_loadfile(path, "t")
  if not fn then error(err, 2) end
  if path ~= nil then note_loaded(path) end
  return fn()
end)

-- require's Lua searcher, as lua's own (same messages), but it reads the module through the
-- sandbox: text only, and only inside the allowed paths, whatever package.path says
local searchpath, read_module = package.searchpath, host.read_module
package.searchers[2] = function(name)
  local path, err = searchpath(name, package.path)
  if not path then return err end
  local source, problem = read_module(path)
  local fn
  if source ~= nil then fn, problem = real_load(source, "@" .. path, "t") end
  if not fn then
    error(format("error loading module '%s' from file '%s':\n\t%s", name, path, problem), 0)
  end
  return fn, path
end

-- a secret the environment-reader tool refuses is refused here too: one policy
local real_getenv, env_refusal = os.getenv, host.env_refusal
os.getenv = function(name)
  if type(name) == "string" then
    local problem = env_refusal(name)
    if problem then error(problem, 2) end
  end
  return real_getenv(name)
end

-- debug can reach the host table and arm hooks on arbitrary threads: keep only what is
-- harmless.
local real_debug = G.debug
local safe_debug = {
  traceback = real_debug.traceback,
  -- a level counts from the caller, as in Lua (1 is not this wrapper); a function's
  -- info, or another thread's, needs no shift
  getinfo = function(what, ...)
    local info
    local level = type(what) == "number" and math.tointeger(what)
    if level and level > 0 then
      info = real_debug.getinfo(level + 1, ...)
    else
      info = real_debug.getinfo(what, ...)
    end
    if info then info.func = nil end
    return info
  end,
}
G.debug = safe_debug
-- every path to a library is the sandboxed one: require "os", package.loaded.io, ...
package.loaded.debug = safe_debug
package.loaded.os, package.loaded.io, package.loaded.coroutine = os, io, G.coroutine
