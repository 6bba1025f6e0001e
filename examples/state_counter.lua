-- state_counter.lua: State that survives runs. Run it twice:
--   llmspell run examples/state_counter.lua -- --user ada
local user = ARGS.user or "guest"

local visits = State.increment("visits:" .. user, 1)
State.append("visit_log", { user = user, at = os.date("!%Y-%m-%dT%H:%M:%SZ") })
State.set_scoped("profiles", user, { name = user, visits = visits })

-- compare_and_swap: only the first run ever claims the title
local first = State.compare_and_swap("first_visitor", nil, user)

print(string.format("%s has visited %d time(s)", user, visits))
print("first visitor: " .. tostring(State.get("first_visitor")) .. (first and " (that's you)" or ""))
print("profiles stored: " .. #State.list_scoped("profiles"))
return visits
