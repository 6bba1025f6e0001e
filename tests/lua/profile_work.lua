-- Two named functions that burn CPU for a known time each, so every profile has samples in both
-- whatever the machine's speed; prints its arguments so tests see them arrive.
local function spin_for(seconds)
  local started, n = os.clock(), 0
  while os.clock() - started < seconds do
    n = n + 1
  end
  return n
end

-- not "return spin_for(...)": a tail call replaces the caller's frame, so the profile
-- would show neither crunch_numbers nor spin_for's name
local function crunch_numbers()
  local n = spin_for(0.08)
  return n
end

local function parse_records()
  local n = spin_for(0.04)
  return n
end

crunch_numbers()
parse_records()
print("work done", ARGS[1] or "-", ARGS.label or "-")
