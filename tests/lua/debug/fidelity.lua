-- What the debugger must show faithfully: big and mixed tables, load()ed chunks, require.
local dir = ...
package.path = dir .. "/?.lua;" .. package.path
local big = {}
for i = 1, 250 do big[i] = i * i end
local mixed = setmetatable({ 10, 20, 30, name = "mixed", kind = "demo" }, { __name = "Mixed" })
local chunk = load("local a = 1\nlocal b = a + 1\nreturn b -- in the chunk")
local named = load("return 7", "=generated")
print("ready", #big, #mixed, chunk(), named()) -- @bp ready
local helpers = require("dbg_helpers") -- @bp require
print("sum", helpers.sum(2, 3)) -- @bp done
