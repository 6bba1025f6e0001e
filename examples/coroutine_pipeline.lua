-- coroutine_pipeline.lua: a producer/consumer pipeline with coroutines and Streaming.
local function producer(n)
  return coroutine.wrap(function()
    for i = 1, n do coroutine.yield({ id = i, text = "item " .. i }) end
  end)
end

local function filter(source, keep)
  return coroutine.wrap(function()
    for item in source do
      if keep(item) then coroutine.yield(item) end
    end
  end)
end

local evens = filter(producer(10), function(item) return item.id % 2 == 0 end)
local seen = {}
for item in evens do seen[#seen + 1] = item.id end
print("even ids:", table.concat(seen, " "))

-- Streaming wraps the same idea: a function that yields chunks
local stream = Streaming.create(function()
  for _, word in ipairs({ "tokens", "arrive", "one", "by", "one" }) do
    coroutine.yield(word)
  end
end)
local words = stream:collect()
print("streamed:", table.concat(words, " "), "done:", stream:isDone())
