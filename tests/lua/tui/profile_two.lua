-- Two functions, one doing three times the work of the other (the Flamegraph pane test).
local ROUNDS = 8000000

local function heavy()
  local x = 0
  for i = 1, 3 * ROUNDS do
    x = x + i % 7
  end
  return x
end

local function light()
  local x = 0
  for i = 1, ROUNDS do
    x = x + i % 7
  end
  return x
end

print(heavy() + light())
