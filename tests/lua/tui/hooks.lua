-- Two hooks on tool calls: one that counts, one that fails until its breaker opens.
local seen = 0
Hook.register("BeforeToolExecution", function() seen = seen + 1 end, "low")
Hook.register("BeforeToolExecution", function() error("quota service down", 0) end, "high")
for _ = 1, 6 do
  Tool.execute("calculator", {input = "1+1"})
end
print("tool calls seen by the counting hook: " .. seen)
