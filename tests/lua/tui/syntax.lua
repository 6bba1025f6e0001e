-- A script that does not compile: the call on the marked line is never closed.
local name = "lua"
if name then
  print("hello", name
end -- @bp error
