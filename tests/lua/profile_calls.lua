-- A function called exactly 37 times, for exact mode's call counts.
local function tick(i)
  return i * 2
end

local total = 0
for i = 1, 37 do
  total = total + tick(i)
end
print("ticked", total)
