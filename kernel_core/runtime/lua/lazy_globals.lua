-- Installs LLMSpell globals on first use. Most scripts touch a few of them; building all
-- of them up front costs ~5 ms and ~350 KB of Lua heap that every garbage-collection cycle
-- then walks (measured: string-building code ran 2-5% slower). `_G` gets an __index that
-- installs a pending global when it is first read; everything else about _G is unchanged.
-- Loaded with (pending, install): pending = {Name = true, ...}; install(name) installs it.
local pending, install = ...
local G = _G
local rawget, rawset, rawequal, next, pairs = rawget, rawset, rawequal, next, pairs
local raw_setmetatable = setmetatable

local L = { pending = pending }

local function materialize(name)
  if pending[name] then
    pending[name] = nil
    install(name)
  end
end

--- Install every pending global (before anything replaces _G's metatable).
function L.materialize_all()
  local name = next(pending)
  while name do
    materialize(name)
    name = next(pending)
  end
end

-- Names llmspell's own code reads as globals (the breakpoint checks the debugger compiles
-- into a chunk: __llmspell_bp, ...): they resolve like globals, but are no keys of _G, so
-- pairs(_G), next(_G) and rawget(_G, k) show a script only its own globals and Lua's. A
-- table as _G's __index: Lua reads it without a call, and the lazy globals behind it.
local hidden = {}
L.hidden = hidden
raw_setmetatable(hidden, {
  __index = function(_, name)
    if pending[name] then
      materialize(name)
      return rawget(G, name)
    end
    return nil
  end,
})
raw_setmetatable(G, { __index = hidden })

-- A script that sets its own metatable on _G (strict mode) gets every global first. Lua's
-- own function decides (called through pcall, with the very arguments); its errors are
-- raised again at the script's line, with the name the call used, as luaL_argerror names it.
local error, format, pcall, getinfo = error, string.format, pcall, debug.getinfo

local function raise_again(message)
  local arg, extra = message:match("^bad argument #(%d+) to '[^']*' %((.*)%)$")
  if arg == nil then error(message, 3) end -- "cannot change a protected metatable"
  local info = getinfo(2, "n")
  local name = info and info.name or "setmetatable"
  arg = tonumber(arg)
  if info and info.namewhat == "method" then
    if arg == 1 then error(format("calling '%s' on bad self (%s)", name, extra), 3) end
    arg = arg - 1
  end
  error(format("bad argument #%d to '%s' (%s)", arg, name, extra), 3)
end

G.setmetatable = function(...)
  if rawequal((...), G) then
    -- the script's metatable replaces ours: what ours resolved becomes plain globals
    if next(pending) then L.materialize_all() end
    for name, value in pairs(hidden) do
      if rawget(G, name) == nil then rawset(G, name, value) end
    end
  end
  local ok, result = pcall(raw_setmetatable, ...)
  if ok then return result end
  raise_again(result) -- not a tail call: raise_again reads this function's name and caller
end

--- Names still waiting to be installed (for completion and "did you mean").
function L.names()
  local out = {}
  for name in pairs(pending) do out[#out + 1] = name end
  return out
end

return L
