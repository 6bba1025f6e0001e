-- The REPL scope of a kernel: top-level locals of cells live in `locals`, which falls back
-- to _G; cell code runs with `env` as its _ENV. Reads are plain table lookups (fast);
-- writes go through __newindex so a declared REPL local lands in `locals`, anything else in _G.
local G = _G
local rawset, setmetatable, pairs, type = rawset, setmetatable, pairs, type

local R = {}
local names = {}
local locals = setmetatable({}, { __index = G })
R.locals, R.names = locals, names

R.env = setmetatable({}, {
  __index = locals,
  __newindex = function(_, k, v)
    if names[k] then rawset(locals, k, v) else G[k] = v end
  end,
  __pairs = function() return pairs(G) end,
})

function R.declare(list)
  for i = 1, #list do names[list[i]] = true end
end

--- Resolve a dotted/colon path ("Agent", "string", "t.sub") in the REPL scope.
function R.resolve(path)
  local value = R.env
  for part in path:gmatch("[^.:]+") do
    if type(value) ~= "table" and type(value) ~= "string" then return nil end
    local ok, v = pcall(function() return value[part] end)
    if not ok then return nil end
    value = v
    if value == nil then return nil end
  end
  return value
end

--- Names visible from the REPL: REPL locals and globals (installed or not yet).
function R.visible_names(lazy_names)
  local out, seen = {}, {}
  for _, k in ipairs(lazy_names or {}) do out[#out + 1] = k; seen[k] = true end
  for k in pairs(names) do
    if type(k) == "string" then out[#out + 1] = k; seen[k] = true end
  end
  for k in pairs(G) do
    if type(k) == "string" and not seen[k] then out[#out + 1] = k end
  end
  return out
end

--- Fields of a value for completion: table keys, then its metatable's __index chain.
function R.fields(value)
  local out, seen = {}, {}
  local depth = 0
  while value ~= nil and depth < 5 do
    if type(value) == "table" then
      for k, v in pairs(value) do
        if type(k) == "string" and not seen[k] then
          seen[k] = true
          out[#out + 1] = { k, type(v) }
        end
      end
    end
    local mt = getmetatable(value)
    if type(mt) ~= "table" then break end
    value = rawget(mt, "__index")
    if type(value) ~= "table" then break end
    depth = depth + 1
  end
  return out
end

return R
