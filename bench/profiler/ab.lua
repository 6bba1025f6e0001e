-- The profiler's accuracy workload: A does exactly three times the work of B (the same worker
-- loop, three times the iterations), and the two are called alternately, so both run under
-- the same machine conditions. Neither returns its worker's call as a tail call: a tail call
-- would replace A's frame with the worker's, and the samples would not see A.
--
--   args: INNER (B's iterations per call, default 10000), CALLS (A and B calls each, 1000)
local inner = math.tointeger(tonumber((...))) or 10000
local calls = math.tointeger(tonumber((select(2, ...)))) or 1000

local function work(n)
  local s = 0
  for i = 1, n do
    s = (s + i * i) % 1000003
  end
  return s
end

local function A()
  local s = work(3 * inner)
  return s
end

local function B()
  local s = work(inner)
  return s
end

local total = 0
for _ = 1, calls do
  total = total + A() + B()
end
return total
