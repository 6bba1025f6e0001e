-- A script with a typo: string.uper is nil, so the call raises where nothing catches it.
local function shout(name)
  local loud = string.uper(name) -- @bp raise
  return loud
end

print("before")
print(shout("lua")) -- @bp call
