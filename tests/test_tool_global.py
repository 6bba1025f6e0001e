"""The Tool global: lookup, discovery, results, errors, options, registration, hooks."""

from __future__ import annotations

from collections.abc import Callable

from tests.conftest import LuaWorld


def test_execute_returns_the_envelope_flattened_with_raw_text_and_metadata(lua: LuaWorld) -> None:
    value = lua.ok(
        'local r = Tool.execute("calculator", {input = "2 + 3 * x", variables = {x = 4}})\n'
        "return {success = r.success, result = r.result.result, raw = r._raw_text,"
        " text = r.text, ms = r.metadata.execution_time_ms}"
    ).value
    assert value["success"] is True
    assert value["result"] == 14.0
    assert '"operation": "evaluate"' in value["raw"]
    assert "text" not in value
    assert isinstance(value["ms"], int)


def test_invoke_is_an_alias_and_instances_execute_with_a_colon(lua: LuaWorld) -> None:
    value = lua.ok(
        'local t = Tool.get("text-manipulator")\n'
        'local a = t:execute({input = "Hello World", operation = "snake_case"}).result.result\n'
        'local b = Tool["text-manipulator"]:execute({input = "ab", operation = "reverse"})\n'
        'local c = Tool.invoke("text-manipulator", {input = "x", operation = "uppercase"})\n'
        "return {a, b.result.result, c.result.result, t.schema.parameters[1].name, "
        "Tool.calculator:getSchema().name}"
    ).value
    assert value == ["hello_world", "ba", "X", "input", "calculator"]


def test_a_dot_call_on_an_instance_says_to_use_a_colon(lua: LuaWorld) -> None:
    message = lua.fails('Tool.get("calculator").execute({input = "1"})')
    assert "'execute' must be called with ':'" in message


def test_unknown_tool_raises_not_found_and_the_hint_suggests_the_close_name(
    lua: LuaWorld,
) -> None:
    run = lua.run('Tool.execute("calculater", {input = "1"})')
    failure = run.outcome.failure
    assert failure is not None
    assert failure.bare_message == "Tool 'calculater' not found"
    assert failure.suggestion is not None
    assert "'calculator'" in failure.suggestion
    assert lua.ok('return Tool.get("calculater") == nil and Tool["nope"] == nil').value is True


def test_network_tools_explain_that_they_need_the_network(lua: LuaWorld) -> None:
    message = lua.fails('Tool.execute("http-requester", {url = "http://x"})')
    assert message == (
        "tool 'http-requester' needs network access, which llmspell does not provide offline"
    )
    assert lua.ok('return Tool.exists("web-searcher")').value is False


def test_missing_and_mistyped_parameters_are_validation_errors(lua: LuaWorld) -> None:
    message = lua.fails('Tool.execute("text-manipulator", {input = "x"})')
    assert message == (
        "Tool execution failed: Validation error: Missing required parameter 'operation'"
    )
    message = lua.fails('Tool.execute("hash-calculator", {operation = "mix", input = "x"})')
    assert "Invalid value 'mix' for parameter 'operation'" in message
    assert "allowed values are: hash, verify" in message
    message = lua.fails('Tool.execute("datetime-handler", {operation = "add", amount = {}})')
    assert "Parameter 'amount' must be an integer, got object" in message
    message = lua.fails('Tool.get("text-manipulator"):execute({input = "x"})')
    assert message.startswith("Tool 'text-manipulator' execution failed: Validation error")


def test_params_must_be_a_table(lua: LuaWorld) -> None:
    message = lua.fails('Tool.execute("calculator")')
    assert message == "bad argument #2 to 'Tool.execute' (table expected, got no value)"


def test_list_discover_categories_and_info(lua: LuaWorld) -> None:
    value = lua.ok(
        "local names = {}\n"
        "for _, t in ipairs(Tool.list()) do names[t.name] = t.version end\n"
        'local fs = Tool.discover({category = "filesystem"})\n'
        'local tagged = Tool.discover({tag = "JQ"})\n'
        "return {names = names, fs = #fs, fs1 = fs[1].category, tagged = tagged[1].name,"
        ' cats = Tool.categories(), info = Tool.get_info("uuid-generator"),'
        ' schema = Tool.get_schema("calculator"), exists = Tool.exists("calculator"),'
        ' avail = Tool.is_available("process-executor")}'
    ).value
    for name in ("calculator", "json-processor", "file-operations", "csv-analyzer"):
        assert value["names"][name] == "1.0.0"
    assert value["fs"] == 2
    assert value["fs1"] == "filesystem"
    assert value["tagged"] == "json-processor"
    assert value["cats"] == ["data", "filesystem", "system", "utility"]
    assert value["info"]["category"] == "utility"
    assert value["schema"]["parameters"][0]["name"] == "operation"
    assert value["exists"] is True
    assert value["avail"] is True


def test_process_execution_can_be_disabled(make_lua: Callable[..., LuaWorld]) -> None:
    world = make_lua(tools={"allow_process_execution": False})
    assert world.ok('return Tool.is_available("process-executor")').value is False
    message = world.fails('Tool.execute("process-executor", {executable = "echo"})')
    assert "Security violation" in message
    assert "allow_process_execution" in message


def test_register_a_lua_function_and_a_spec_with_a_schema(lua: LuaWorld) -> None:
    value = lua.ok(
        'Tool.register("double", function(p) return {result = p.n * 2} end)\n'
        'Tool.register("greet", {description = "Greets", category = "custom",\n'
        '  parameters = {{name = "who", type = "string", required = true}},\n'
        '  execute = function(p) return "hi " .. p.who end})\n'
        'local ok, err = pcall(Tool.execute, "greet", {})\n'
        'return {Tool.execute("double", {n = 21}).result, Tool.execute("greet", {who = "A"}).text,'
        ' err, Tool.get("greet").description, Tool.unregister("greet"), Tool.exists("greet"),'
        ' Tool.unregister("calculator")}'
    ).value
    assert value[0] == 42
    assert value[1] == "hi A"
    assert "Missing required parameter 'who'" in value[2]
    assert value[3:] == ["Greets", True, False, False]


def test_a_registered_tool_that_errors_fails_like_a_builtin(lua: LuaWorld) -> None:
    message = lua.fails(
        'Tool.register("boom", function() error("kaboom") end) Tool.execute("boom", {})'
    )
    assert message.startswith("Tool execution failed: Tool execution error:")
    assert "kaboom" in message
    message = lua.fails('Tool.register("calculator", function() end)')
    assert "built-in tool and cannot be replaced" in message


def test_batch_collects_results_and_errors_per_entry(lua: LuaWorld) -> None:
    value = lua.ok(
        'return Tool.batch({{"calculator", {input = "1+1"}},'
        ' {name = "nope", params = {}}, {"text-manipulator", {input = "x"}}})'
    ).value
    assert value[0]["result"]["result"] == 2.0
    assert value[1] == {"success": False, "error": "Tool 'nope' not found"}
    assert value[2]["success"] is False
    assert "Missing required parameter 'operation'" in value[2]["error"]


def test_retry_reruns_a_failing_tool(lua: LuaWorld) -> None:
    value = lua.ok(
        "local calls = 0\n"
        'Tool.register("flaky", function() calls = calls + 1\n'
        '  if calls < 3 then error("not yet") end return "ok" end)\n'
        'local r = Tool.execute("flaky", {}, {retry = 2})\n'
        "return {r.text, calls}"
    ).value
    assert value == ["ok", 3]
    message = lua.fails(
        'local n = 0 Tool.register("bad", function() n = n + 1 error("no") end)\n'
        'Tool.execute("bad", {}, {retry = 1})'
    )
    assert "no" in message


def test_timeout_ends_a_lua_tool_that_runs_too_long(lua: LuaWorld) -> None:
    message = lua.fails(
        'Tool.register("spin", function() while true do end end)\n'
        'Tool.execute("spin", {}, {timeout = 0.2})'
    )
    assert message == "Tool execution failed: Timeout error: Tool 'spin' timed out after 0.2s"
    assert lua.ok('return Tool.execute("calculator", {input = "1"}).success').value is True


def test_timeout_applies_to_builtin_tools_too(lua: LuaWorld) -> None:
    message = lua.fails('Tool.execute("system-monitor", {operation = "cpu"}, {timeout = 0.01})')
    assert "Timeout error: Tool 'system-monitor' timed out after 0.01s" in message


def test_bad_options_are_explained(lua: LuaWorld) -> None:
    message = lua.fails('Tool.execute("calculator", {input = "1"}, {timeout = -1})')
    assert "'timeout' must be a positive number of seconds" in message


# ---------------------------------------------------------------- hooks


def test_before_execution_hook_can_modify_parameters(lua: LuaWorld) -> None:
    value = lua.ok(
        'Hook.register("BeforeToolExecution", function(ctx)\n'
        '  local p = ctx.data.parameters p.input = "10 * 10"\n'
        '  return {type = "modified", data = {tool_name = ctx.data.tool_name, parameters = p}}\n'
        "end)\n"
        'return Tool.execute("calculator", {input = "1"}).result.result'
    ).value
    assert value == 100.0


def test_before_execution_hook_can_cancel_replace_and_redirect(lua: LuaWorld) -> None:
    message = lua.ok(
        'local h = Hook.register("BeforeToolExecution", function() return "not today" end)\n'
        'local ok, err = pcall(Tool.execute, "calculator", {input = "1"})\n'
        "h:unregister() return err"
    ).value
    assert "cancelled by a BeforeToolExecution hook: not today" in message
    value = lua.ok(
        'local h = Hook.register("BeforeToolExecution", function(ctx)\n'
        '  if ctx.data.tool_name == "calculator" then\n'
        '    return {type = "replace", data = {success = true, cached = "yes"}} end end)\n'
        'local r = Tool.execute("calculator", {input = "1"})\n'
        "h:unregister()\n"
        'local r2 = Hook.register("BeforeToolExecution", function(ctx)\n'
        '  if ctx.data.tool_name == "old" then\n'
        '    return {type = "redirect", target = "uuid-generator"} end end)\n'
        'Tool.register("old", function() return "old" end)\n'
        'return {r.cached, #Tool.execute("old", {}).result.uuid}'
    ).value
    assert value == ["yes", 36]


def test_after_execution_hook_replaces_the_result(lua: LuaWorld) -> None:
    value = lua.ok(
        'Hook.register("AfterToolExecution", function(ctx)\n'
        "  local r = ctx.data.result r.audited = true\n"
        '  return {type = "modified", data = {tool_name = ctx.data.tool_name, result = r}}\n'
        "end)\n"
        'local r = Tool.execute("calculator", {input = "1+1"})\n'
        "return {r.audited, r.result.result}"
    ).value
    assert value == [True, 2.0]


def test_tool_error_hook_can_retry_and_validation_hook_sees_every_call(lua: LuaWorld) -> None:
    value = lua.ok(
        "local seen, calls = {}, 0\n"
        'Hook.register("ToolValidation", function(ctx) seen[#seen + 1] = ctx.data.tool_name end)\n'
        'Hook.register("ToolError", function(ctx)\n'
        '  return {type = "retry", delay_ms = 0, max_attempts = 2} end)\n'
        'Tool.register("flaky", function() calls = calls + 1\n'
        '  if calls < 2 then error("first time fails") end return "fine" end)\n'
        'local r = Tool.execute("flaky", {})\n'
        "return {r.text, calls, seen[1]}"
    ).value
    assert value == ["fine", 2, "flaky"]


def test_discovery_hooks_can_filter_the_tool_list(lua: LuaWorld) -> None:
    value = lua.ok(
        'Hook.register("AfterToolDiscovery", function(ctx)\n'
        "  local keep = {}\n"
        "  for _, t in ipairs(ctx.data.tools) do\n"
        '    if t.category == "system" then keep[#keep + 1] = t end end\n'
        '  return {type = "modified", data = {tools = keep}} end)\n'
        "local names = {}\n"
        "for _, t in ipairs(Tool.list()) do names[#names + 1] = t.name end\n"
        "table.sort(names) return names"
    ).value
    assert value == ["environment-reader", "process-executor", "system-monitor"]
