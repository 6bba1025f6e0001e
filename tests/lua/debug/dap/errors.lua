-- An error pcall catches, then one nothing catches.
local function risky(kind)
  error("bad " .. kind) -- @bp raise
end

local ok, message = pcall(risky, "caught")
print("caught:", ok, message)
risky("uncaught")
print("never printed")
