-- helpful_error.lua: what an error looks like. This script fails on purpose:
--   llmspell run examples/helpful_error.lua
-- prints the message, the file:line with the source line marked, a traceback, and a hint
-- ("JSON has no 'stringfy'; did you mean JSON.stringify?"). Exit status 1.
local function summarize(report)
  return JSON.stringfy(report)   -- a typo a person makes
end

local ok, err = pcall(Tool.execute, "calculater", { input = "1+1" })
print("a caught error:", err)

print(summarize({ title = "weekly", items = 3 }))
