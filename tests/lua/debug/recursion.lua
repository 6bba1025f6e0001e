-- Recursion and a C frame (pcall) on the stack.
local function fact(n)
  if n <= 1 then
    return 1 -- @bp base
  end
  return n * fact(n - 1)
end

local ok, value = pcall(fact, 5)
print("fact", ok, value)
