-- The REPL scope of a kernel: how a top-level `local` of one cell stays visible in later
-- cells while every cell runs as fast as the same code in a script.
--
-- A cell is compiled as written, with _G as its _ENV: its own top-level locals are real
-- locals (registers), as in a script. Its last act is to hand back a closure over those
-- locals (cells.py appends it); the closure's upvalues are the locals' boxes, which
-- closures the cell made share. `keep` files each box under its name.
--
-- A later cell that mentions such a name is compiled inside a prelude that declares it:
--
--   local x, f; return function(...)    <- line 1, ours
--   <the cell, from line 2>
--   end
--
-- so the name is an upvalue of the cell function, joined (debug.upvaluejoin) to the filed
-- box: a function from cell 1 and cell 5 read and write the very same variable. The cell
-- function is then made a main chunk again (`as_main`: string.dump, every line number moved
-- up by one, linedefined 0, load as binary), so tracebacks, the debugger and the profiler
-- see "main chunk" with the cell's own line numbers, exactly as for a script.
local G, mux = ...
local debug = mux.real_debug
local getupvalue, setupvalue, upvaluejoin = debug.getupvalue, debug.setupvalue, debug.upvaluejoin

local pairs, type, select, setmetatable, pcall = pairs, type, select, setmetatable, pcall

local R = {}
local boxes = {}  -- name -> { closure, upvalue index }: where a REPL local lives
local names = {}  -- name -> true, for every REPL local
local cells = setmetatable({}, { __mode = "k" })  -- the cell functions (weak)
R.names = names

--- File the boxes of a finished cell's top-level locals (`capture` closes over them).
function R.keep(capture)
  local i = 1
  while true do
    local name = getupvalue(capture, i)
    if name == nil then return end
    if name ~= "_ENV" then
      boxes[name] = { capture, i }
      names[name] = true
    end
    i = i + 1
  end
end

--- The REPL locals among `candidates` (names a cell mentions), as a Lua list.
function R.known(candidates)
  local out = {}
  for i = 1, #candidates do
    if boxes[candidates[i]] then out[#out + 1] = candidates[i] end
  end
  return out
end

function R.get(name)
  local box = boxes[name]
  if box then return select(2, getupvalue(box[1], box[2])) end
  return nil
end

function R.set(name, value)
  local box = boxes[name]
  if box then setupvalue(box[1], box[2], value) else G[name] = value end
end

--- Every REPL local with its value, sorted by name (the debugger's "REPL" scope).
function R.listing()
  local out = {}
  for name in pairs(boxes) do out[#out + 1] = { name = name, value = R.get(name) } end
  table.sort(out, function(a, b) return a.name < b.name end)
  return out
end

--- Whether `fn` is a cell's main function.
function R.is_cell(fn)
  return cells[fn] == true
end

--- Remember a cell function compiled without a prelude.
function R.track(fn)
  cells[fn] = true
  return fn
end

-- An environment that sees REPL locals then globals: for what is evaluated outside any
-- cell (completion, inspection, user_expressions, the debugger's evaluate while running).
R.env = setmetatable({}, {
  __index = function(_, k)
    if boxes[k] then return R.get(k) end
    return G[k]
  end,
  __newindex = function(_, k, v) R.set(k, v) end,
  __pairs = function() return pairs(G) end,
})

--- A function compiled inside the prelude as a main chunk (runtime/lua/main_chunk.lua).
R.as_main = mux.as_main

--- From a compiled prelude chunk, the cell function: a main chunk whose REPL-local upvalues
--- are the filed boxes. Returns nil, message when the chunk cannot be rebuilt.
function R.finish(outer)
  local ok, inner = pcall(outer)
  if not ok or type(inner) ~= "function" then return nil, tostring(inner) end
  local cell, err = R.as_main(inner)
  if not cell then return nil, err end
  local i = 1
  while true do
    local name = getupvalue(cell, i)
    if name == nil then break end
    if name == "_ENV" then
      setupvalue(cell, i, G)
    elseif boxes[name] then
      upvaluejoin(cell, i, boxes[name][1], boxes[name][2])
    end
    i = i + 1
  end
  cells[cell] = true
  return cell, nil
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
