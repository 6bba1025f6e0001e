-- quickstart.lua: a first tour of LLMSpell's Lua API. Runs offline.
--   llmspell run examples/quickstart.lua -- --name Ada
local name = ARGS.name or "world"
print("Hello, " .. name .. "!")

-- Tools: built-in, called by name
local sum = Tool.execute("calculator", { operation = "evaluate", input = "6 * 7" })
print("6 * 7 =", sum.result.result)

local id = Tool.execute("uuid-generator", { operation = "generate" })
print("a fresh id:", #id.result.uuid == 36 and "yes" or "no")

-- JSON in and out
local data = JSON.parse('{"tags": ["lua", "llm"], "stars": 5}')
print("tags:", table.concat(data.tags, ", "), "stars:", data.stars)

-- An agent; with no endpoint configured the deterministic local provider answers
local agent = Agent.builder()
  :name("greeter")
  :model("openai/gpt-4o-mini")
  :system_prompt("You are brief.")
  :build()
local reply = agent:execute({ text = "Say hello to " .. name })
print("agent replied:", reply.text ~= "" and "yes" or "no")

-- State survives runs (SQLite in your data directory)
local runs = State.increment("quickstart_runs", 1)
print("this quickstart has run " .. runs .. " time(s)")

return { greeted = name, runs = runs }
