-- A script that names its agent: run twice in one Lua world, the second build would fail.
local greeter = Agent.builder():name("greeter"):build()
local reply = greeter:execute("hello") -- @bp execute
print("greeted:", reply ~= nil)
