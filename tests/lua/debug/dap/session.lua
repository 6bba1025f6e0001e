-- A whole editor session: a loop, a call to step into and out of, a table to expand.
local function square(x)
  local result = x * x -- @bp square
  return result
end -- @bp entry

local total = 0
for i = 1, 5 do
  total = total + square(i) -- @bp loop
end
local spell = { name = "spell", list = { 1, 2, 3 } }
print("total", total) -- @bp after
print("name", spell.name)
