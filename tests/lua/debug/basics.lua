-- Values of every kind the debugger shows: locals, upvalues, tables, functions, coroutines.
local counter = 0
local config = { name = "demo", nested = { deep = { value = 42 } }, list = { 10, 20, 30 } }
local big = {}
for i = 1, 1000 do big[i] = i * 2 end
local meta = setmetatable({}, { __index = { inherited = true } })

local function bump(step)
  counter = counter + step -- @bp bump
  return counter
end

local function count_args(...)
  local n = select("#", ...) -- @bp varargs
  return n
end

local worker = coroutine.create(function(a)
  local b = coroutine.yield(a + 1)
  return b
end)
coroutine.resume(worker, 1)

M = { helper = function(x) return x * 2 end }
function shout(text) return text:upper() end

for i = 1, 12 do
  bump(i) -- @bp loop
end

-- nothing to run on this line -- @bp comment

local after = counter -- @bp after
count_args("a", nil, 3)
print("done", counter, M.helper(after), shout("ok"), #big, meta.inherited, config.name) -- @bp done
