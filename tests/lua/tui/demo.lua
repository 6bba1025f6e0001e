-- A small script the TUI tests debug (tests look lines up by their @bp markers).
local config = {name = "demo", retries = 3, tags = {"a", "b"}} -- @bp entry
local total = 0 -- @bp second
for i = 1, 3 do
  total = total + i -- @bp loop
end
local message = string.format("%s: %d", config.name, total)
print(message)
io.stderr:write("done\n")
return total
