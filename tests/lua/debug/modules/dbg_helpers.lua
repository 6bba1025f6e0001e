-- A module the debugger tests require.
local M = {}

function M.sum(a, b)
  local total = a + b -- @bp sum
  return total
end

return M
