-- The TUI tests of watches, breakpoints and paged tables (tests find lines by @bp markers).
local items = {} -- @bp entry
for n = 1, 250 do items[n] = n * n end
local config = {name = "tables", limit = 3}
local total = 0
for i = 1, 4 do
  total = total + i -- @bp loop
end
print("total", total) -- @bp after
return total
