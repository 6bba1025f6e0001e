-- rank_documents.lua: rank documents against a query, the way a retrieval step before an
-- agent does. Small on purpose, and slow enough to be worth profiling:
--   llmspell profile examples/rank_documents.lua            (writes rank_documents.profile.svg)
--   llmspell profile examples/rank_documents.lua --tui      (watch the Flamegraph pane)
local rounds = tonumber(ARGS.rounds or ARGS[1]) or 200

local words = { "agent", "tool", "workflow", "state", "hook", "event", "session", "lua",
  "prompt", "model", "token", "stream", "debug", "profile", "kernel", "cache" }

-- build a corpus of made-up documents (deterministic: seeded)
math.randomseed(42)
local corpus = {}
for d = 1, 300 do
  local text = {}
  for w = 1, 60 do text[w] = words[math.random(#words)] end
  corpus[d] = { id = d, text = table.concat(text, " ") }
end

local function tokenize(text)
  local tokens = {}
  for word in text:gmatch("%a+") do tokens[#tokens + 1] = word:lower() end
  return tokens
end

local function term_counts(tokens)
  local counts = {}
  for _, t in ipairs(tokens) do counts[t] = (counts[t] or 0) + 1 end
  return counts
end

local function score(query_terms, doc)
  local counts = term_counts(tokenize(doc.text))
  local s = 0
  for _, term in ipairs(query_terms) do s = s + (counts[term] or 0) end
  return s
end

local function rank(query)
  local terms = tokenize(query)
  local ranked = {}
  for _, doc in ipairs(corpus) do
    ranked[#ranked + 1] = { id = doc.id, score = score(terms, doc) }
  end
  table.sort(ranked, function(a, b)
    if a.score ~= b.score then return a.score > b.score end
    return a.id < b.id
  end)
  return ranked
end

local function report(ranked)
  -- what a script would hand an agent: the top hits as JSON
  local top = {}
  for i = 1, 3 do top[i] = ranked[i] end
  return JSON.stringify(top)
end

local last
for i = 1, rounds do
  last = report(rank("agent tool workflow"))
end
print("top documents:", last)
