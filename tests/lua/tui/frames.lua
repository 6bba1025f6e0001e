-- Nested calls and a suspended coroutine for the stack tests (lines found by @bp markers).
local worker = coroutine.create(function(n)
  coroutine.yield(n + 1) -- @bp yield
  return n
end)
coroutine.resume(worker, 1)
local function inner(n)
  return n * 2 -- @bp inner
end
local function outer(n)
  local doubled = inner(n) -- @bp call
  return doubled + 1
end
print(outer(20))
