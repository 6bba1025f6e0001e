-- A coroutine that yields: a breakpoint inside it stops on its own thread.
local function producer()
  for i = 1, 3 do
    local value = i * 10
    coroutine.yield(value) -- @bp yield
  end
end

local co = coroutine.create(producer)
local got = {}
while true do
  local _, value = coroutine.resume(co)
  if value == nil then break end
  got[#got + 1] = value
end
print("got", table.concat(got, ","))
