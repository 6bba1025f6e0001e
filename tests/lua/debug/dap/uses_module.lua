-- Requires dap_module.lua from the script's own directory.
local m = require("dap_module")
print("doubled", m.double(21))
