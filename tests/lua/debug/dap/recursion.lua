-- Recursion: the stack at the base case holds every level.
local function fact(n)
  if n <= 1 then
    return 1 -- @bp base
  end
  return n * fact(n - 1)
end

print("fact", fact(4))
