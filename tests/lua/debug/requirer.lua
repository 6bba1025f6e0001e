-- Loads a module from the directory given as the first argument.
local dir = ...
package.path = dir .. "/?.lua;" .. package.path
local helpers = require("dbg_helpers")
print("sum", helpers.sum(2, 3)) -- @bp call
