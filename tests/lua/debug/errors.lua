-- Errors: one caught by pcall, then one nothing catches.
local function risky(kind)
  local detail = "bad " .. kind
  error(detail) -- @bp raise
end

local ok, message = pcall(risky, "caught")
print("caught:", ok, message) -- @bp after_pcall
local depth_marker = "outer"
risky("uncaught")
print("never printed")
