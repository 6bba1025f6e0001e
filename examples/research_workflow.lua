-- research_workflow.lua: a workflow mixing tools, a function step, parallel branches and an agent.
local writer = Agent.builder():name("writer"):model("local/writer"):build()

local prepare = Workflow.sequential()
  :name("prepare")
  :step({ name = "normalize", type = "tool", tool = "text-manipulator",
          input = { operation = "lowercase", input = "{{input.topic}}" } })
  :step({ name = "words", fn = function(input, ctx)
      local text = ctx:get_output("normalize").result.result
      local words = {}
      for w in text:gmatch("%a+") do words[#words + 1] = w end
      return words
    end })
  :build()

local gather = Workflow.parallel()
  :name("gather")
  :branch({ name = "count", fn = function(input, ctx) return #ctx.input.topic end })
  :branch({ name = "hash", type = "tool", tool = "hash-calculator",
            input = { operation = "hash", algorithm = "sha256", input = "{{input.topic}}" } })
  :build()

local report = Workflow.sequential()
  :name("report")
  :step({ name = "prepare", type = "workflow", workflow = prepare,
          input = { topic = "{{input.topic}}" } })
  :step({ name = "gather", type = "workflow", workflow = gather,
          input = { topic = "{{input.topic}}" } })
  :step({ name = "summary", type = "agent", agent = "writer",
          input = "Summarise research on {{input.topic}}" })
  :build()

local result = report:execute({ topic = ARGS.topic or "Lua Coroutines In Practice" })
print("success:", result.success, "status:", result.status)
print("steps:", result.metadata.extra.total_steps, "ok:", result.metadata.extra.successful_steps)
print("writer said:", result.metadata.extra.agent_outputs.writer ~= nil)
print(result.text)
