-- Works for a known time, says so, then runs until interrupted (Ctrl+C).
local function warm_up()
  local started = os.clock()
  while os.clock() - started < 0.1 do
  end
end

local function spin_forever()
  local n = 0
  while true do
    n = n + 1
  end
end

warm_up()
print("spinning")
io.stdout:flush()
spin_forever()
