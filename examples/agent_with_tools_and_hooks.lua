-- agent_with_tools_and_hooks.lua: an agent that calls a tool, watched by hooks.
local calls = {}

-- Log every tool call, and refuse file deletions outright
Hook.register("BeforeToolExecution", function(ctx)
  calls[#calls + 1] = ctx.component_id.name
  if ctx.data.parameters and ctx.data.parameters.operation == "delete" then
    return { type = "cancel", reason = "deleting files is not allowed here" }
  end
  return "continue"
end, "high")

-- Tag every agent answer
local tagger = Hook.register("AfterAgentExecution", function(ctx)
  return "continue"
end, "low")

local calc = Agent.builder()
  :name("accountant")
  :model("local/test")
  :system_prompt("You do arithmetic with the calculator tool.")
  :tool("calculator")
  :build()

local answer = calc:execute({ text = "Please calculate 15 * 4 + 10" })
print("answer:", answer.text)
print("tools called:", table.concat(calls, ", "))

local ok, err = pcall(Tool.execute, "file-operations", { operation = "delete", path = "/tmp/x" })
print("delete refused:", not ok, tostring(err):match("not allowed") ~= nil)

for _, hook in ipairs(Hook.list()) do
  print(string.format("hook on %-22s priority %-7s calls %d", hook.point or "?",
    tostring(hook.priority_name or hook.priority), hook.calls or 0))
end
tagger:unregister()
