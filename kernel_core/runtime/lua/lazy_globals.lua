-- Installs LLMSpell globals on first use. Most scripts touch a few of them; building all
-- of them up front costs ~5 ms and ~350 KB of Lua heap that every garbage-collection cycle
-- then walks (measured: string-building code ran 2-5% slower). `_G` gets an __index that
-- installs a pending global when it is first read; everything else about _G is unchanged.
-- Loaded with (pending, install): pending = {Name = true, ...}; install(name) installs it.
local pending, install = ...
local G = _G
local rawget, rawequal, next, pairs = rawget, rawequal, next, pairs
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

raw_setmetatable(G, {
  __index = function(_, name)
    if pending[name] then
      materialize(name)
      return rawget(G, name)
    end
    return nil
  end,
})

-- A script that sets its own metatable on _G (strict mode) gets every global first.
G.setmetatable = function(t, mt)
  if rawequal(t, G) and next(pending) then L.materialize_all() end
  return raw_setmetatable(t, mt)
end

--- Names still waiting to be installed (for completion and "did you mean").
function L.names()
  local out = {}
  for name in pairs(pending) do out[#out + 1] = name end
  return out
end

return L
