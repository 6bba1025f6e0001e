-- A module next to the script that requires it.
local M = {}

function M.double(x)
  local doubled = x * 2 -- @bp double
  return doubled
end

return M
