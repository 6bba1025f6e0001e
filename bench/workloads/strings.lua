-- String building: 2e5 formatted parts joined with table.concat.
local parts = {}
for i = 1, 200000 do
  parts[#parts + 1] = string.format("%d:%s", i, (i % 2 == 0) and "even" or "odd")
end
local text = table.concat(parts, ",")
return #text
