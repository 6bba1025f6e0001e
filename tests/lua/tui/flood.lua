-- Prints without end: the TUI must stay responsive and its console bounded.
local i = 0
while true do
  i = i + 1
  print("line " .. i .. " of a script that never stops printing")
end
