-- Hot lines for conditions compiled into their line: a function called in a loop (its
-- parameter, a string local and an upvalue) and a loop body (a numeric for variable).
local threshold = 7
local seen = 0

local function visit(n, label)
  seen = seen + 1 -- @bp visit
  return n, label
end

for i = 1, 12 do
  visit(i, i % 2 == 0 and "even" or "odd") -- @bp loop
end

local total = 0
for i = 1, 10 do
  total = total + i -- @bp sum
end

local function elsewhere(k)
  local s = 0
  for j = 1, k do
    s = s + j -- @bp elsewhere
  end
  return s
end

local hooked = {}
local function hot(k)
  local s = 0
  for j = 1, k do s = s + j end
  hooked[#hooked + 1] = select(2, debug.gethook()) -- @bp hot
  return s
end

print("done", seen, total, threshold, hot(3), elsewhere(4), table.concat(hooked, ",")) -- @bp done
