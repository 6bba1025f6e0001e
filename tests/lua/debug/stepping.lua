-- Calls, returns, a tail call, an error through pcall and a coroutine, for stepping tests.
local function inner(x)
  local y = x + 1 -- @bp inner_first
  return y * 2 -- @bp inner_return
end

local function outer(v)
  local r = inner(v) -- @bp outer_call
  return r -- @bp outer_after
end

local function tail(v)
  return inner(v) -- @bp tail_call
end

local function fails()
  error("boom") -- @bp raise
end

local a = outer(1) -- @bp main_call
local b = a + 1 -- @bp main_after
local ok, err = pcall(fails) -- @bp pcall_call
local c = tail(b) -- @bp main_tail
local gen = coroutine.wrap(function() -- @bp gen
  local first = 1 -- @bp co_first
  coroutine.yield(first) -- @bp co_yield
  local second = 2 -- @bp co_resumed
  coroutine.yield(second)
end)
local v1 = gen() -- @bp resume1
local v2 = gen() -- @bp resume2
print("end", a, b, ok, err ~= nil, c, v1, v2) -- @bp last
