-- Table-heavy: 3e6 iterations of field reads, writes and array appends in a ring buffer.
local ring, size = {}, 1024
local point = { x = 0, y = 0 }
local sum = 0
for i = 1, 3000000 do
  point.x = point.x + 1
  point.y = point.y + (i % 7)
  ring[(i % size) + 1] = point.y
  sum = sum + (ring[((i * 7) % size) + 1] or 0)
end
return sum
