-- Functions that do not exist when a client sets function breakpoints on them.
local dir = ...
package.path = dir .. "/?.lua;" .. package.path
function late_defined(x)
  return x * 2
end
local helpers = require("dbg_helpers")
local a = late_defined(21) -- @bp late
local b = helpers.sum(2, 3) -- @bp module
local c = late_defined(1) -- @bp again
print("late", a, b, c)
