-- Works for a while, then fails (an error) or exits with a code (os.exit), as ARGS.how says.
local function load_everything()
  local started = os.clock()
  while os.clock() - started < 0.05 do
  end
end

load_everything()
print("loaded")
if ARGS.how == "exit" then
  os.exit(3)
end
error("the data was not what we expected")
