-- Shows what launch passed: arguments, an environment variable, the working directory.
print("arg", ARGS and ARGS[1])
print("env", os.getenv("DAP_FIXTURE_VALUE"))
local f = io.open("marker.txt", "r")
print("cwd marker", f and f:read("a") or "missing")
if f then f:close() end
os.exit(3)
