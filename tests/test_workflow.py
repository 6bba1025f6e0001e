"""Workflow: builders, sequential runs, the result shape, templates, errors, instances."""

from __future__ import annotations

from tests.conftest import LuaWorld


def test_issue_style_builder_pipes_each_output_into_the_next_step(lua: LuaWorld) -> None:
    result = lua.ok(
        """
        local wf = Workflow.sequential()
          :name("pipeline")
          :step{name = "add", fn = function(input) return input.x + 1 end}
          :step{name = "double", fn = function(n) return n * 2 end}
          :build()
        return wf:execute({x = 4})
        """
    ).value
    assert result["success"] is True
    assert result["status"] == "completed"
    assert result["output"] == 10
    assert result["outputs"] == {"add": 5, "double": 10}
    assert result["workflow_type"] == "sequential"
    assert result["workflow_name"] == "pipeline"
    assert result["execution_id"].startswith("exec_")
    assert (
        "Sequential workflow 'pipeline' completed successfully. 2 steps executed."
        in (result["text"])
    )


def test_reference_builder_and_result_metadata_match_llmspell(lua: LuaWorld) -> None:
    result = lua.ok(
        """
        local wf = Workflow.builder():name("ref"):description("d"):sequential()
          :add_step({name = "one", type = "function", fn = function(i) return i.n * 2 end})
          :add_step({name = "two", type = "function", fn = function(i) return i * 2 end})
          :build()
        return wf:execute({n = 1})
        """
    ).value
    extra = result["metadata"]["extra"]
    assert extra["workflow_type"] == "sequential"
    assert extra["workflow_name"] == "ref"
    assert extra["execution_id"] == result["execution_id"]
    assert extra["total_steps"] == 2
    assert extra["successful_steps"] == 2
    assert extra["failed_steps"] == 0
    assert extra["success_rate"] == 100.0
    assert extra["agent_outputs"] == {}
    assert isinstance(result["metadata"]["execution_time_ms"], float)
    assert [s["name"] for s in result["steps"]] == ["one", "two"]
    step = result["steps"][0]
    assert step["success"] is True
    assert "error" not in step
    assert isinstance(step["duration_ms"], float)
    assert result["media"] == []
    assert result["tool_calls"] == []


def test_direct_constructor_builds_an_instance_with_id_name_and_type(lua: LuaWorld) -> None:
    run = lua.ok(
        """
        local wf = Workflow.sequential{name = "direct", steps = {
          {name = "a", fn = function(input) return input.n * 2 end},
        }}
        return {id = wf.id, name = wf.name, type = wf.type, info = wf:get_info(),
                out = wf:execute({n = 21}).output}
        """
    ).value
    assert run["id"].startswith("workflow_")
    assert (run["name"], run["type"], run["out"]) == ("direct", "sequential", 42)
    assert run["info"]["id"] == run["id"]
    assert run["info"]["step_count"] == 1


def test_fail_fast_raises_step_failed_and_skips_the_rest(lua: LuaWorld) -> None:
    run = lua.run(
        """
        ran = {}
        local wf = Workflow.sequential()
          :name("ff")
          :step{name = "ok", fn = function() ran[#ran + 1] = "ok" return 1 end}
          :step{name = "boom", fn = function() error("kaput", 0) end}
          :step{name = "never", fn = function() ran[#ran + 1] = "never" end}
          :build()
        wf:execute()
        """
    )
    assert run.error == "Step 'boom' failed: kaput"
    assert run.outcome.failure is not None
    assert run.outcome.failure.location == ("(test)", 9)
    assert lua.ok("return ran").value == ["ok"]


def test_continue_strategy_returns_a_failed_result_instead_of_raising(lua: LuaWorld) -> None:
    result = lua.ok(
        """
        local wf = Workflow.sequential()
          :name("c")
          :on_error("continue")
          :step{name = "boom", fn = function() error("bad input", 0) end}
          :step{name = "after", fn = function(prev, ctx) return "still ran" end}
          :build()
        return wf:execute({})
        """
    ).value
    assert result["success"] is False
    assert result["status"] == "failed"
    assert result["error"] == "Step 'boom' failed: bad input"
    assert result["outputs"] == {"after": "still ran"}
    assert [s["success"] for s in result["steps"]] == [False, True]
    assert result["steps"][0]["error"] == "bad input"
    assert result["metadata"]["extra"]["failed_steps"] == 1
    assert result["metadata"]["extra"]["success_rate"] == 50.0
    assert "failed" in result["text"]


def test_retry_strategy_runs_a_flaky_step_again(lua: LuaWorld) -> None:
    result = lua.ok(
        """
        local calls = 0
        local wf = Workflow.builder():name("r"):sequential()
          :error_strategy({type = "retry", max_attempts = 3, backoff_ms = 0})
          :add_step({name = "flaky", fn = function()
            calls = calls + 1
            if calls < 3 then error("not yet", 0) end
            return calls
          end})
          :build()
        return wf:execute({})
        """
    ).value
    assert result["output"] == 3
    assert result["steps"][0]["attempts"] == 3


def test_step_retry_count_gives_up_after_its_attempts(lua: LuaWorld) -> None:
    result = lua.ok(
        """
        local calls = 0
        local wf = Workflow.sequential{name = "give-up", steps = {
          {name = "never", retry_count = 2, fn = function() calls = calls + 1 error("no", 0) end},
        }}
        local ok, err = pcall(wf.execute, wf, {})
        return {calls = calls, ok = ok, err = err}
        """
    ).value
    assert result == {"calls": 3, "ok": False, "err": "(test):6: Step 'never' failed: no"}


def test_function_step_may_fail_by_returning_nil_and_a_message(lua: LuaWorld) -> None:
    message = lua.fails(
        """
        Workflow.sequential():name("n")
          :step{name = "io", fn = function() return nil, "file missing" end}
          :build():execute()
        """
    )
    assert message == "Step 'io' failed: file missing"


def test_templates_fill_input_and_step_references(lua: LuaWorld) -> None:
    result = lua.ok(
        """
        local wf = Workflow.sequential()
          :name("tpl")
          :step{name = "greet", fn = function(i) return "hello " .. i.who end,
                input = {who = "{{input.user.name}}"}}
          :step{name = "shout", fn = function(i) return i end,
                input = "{{step.greet.output}}! / {{greet.result}} / {{steps.greet}}"}
          :step{name = "raw", fn = function(i) return i end,
                input = {whole = "{{input.user}}", n = "{{input.count}}",
                         kept = "{{unknown.thing}} and {{name}}", topic = "{{topic}}"}}
          :build()
        return wf:execute({user = {name = "ada"}, count = 3, topic = "lua"})
        """
    ).value
    outputs = result["outputs"]
    assert outputs["greet"] == "hello ada"
    assert outputs["shout"] == "hello ada! / hello ada / hello ada"
    raw = outputs["raw"]
    assert raw["whole"] == {"name": "ada"}
    assert raw["n"] == 3
    assert raw["kept"] == "{{unknown.thing}} and {{name}}"
    assert raw["topic"] == "lua"


def test_templates_read_nested_output_fields_and_previous(lua: LuaWorld) -> None:
    result = lua.ok(
        """
        local wf = Workflow.sequential()
          :name("nested")
          :step{name = "calc", fn = function() return {result = {result = 42}, ok = true} end}
          :step{name = "use", type = "template",
                template = "{{step.calc.output.result.result}}|{{calc}}|{{previous.ok}}"}
          :step{name = "meta", type = "template",
                template = "{{workflow.name}} {{step.calc.success}} {{shared.k}}"}
          :build()
        wf:set_shared_data("k", "v")
        return wf:execute({})
        """
    ).value
    assert result["outputs"]["use"] == "42|42|true"
    assert result["outputs"]["meta"] == "nested true v"


def test_function_steps_see_the_context(lua: LuaWorld) -> None:
    result = lua.ok(
        """
        local wf = Workflow.sequential()
          :name("ctx")
          :step{name = "first", fn = function(i, ctx)
            ctx:set_shared("seen", ctx.topic)
            ctx.counter = 1
            return ctx.step .. ":" .. ctx.workflow_name
          end}
          :step{name = "second", fn = function(i, ctx)
            return {prev = i, first = ctx.outputs.first, shared = ctx:get_shared("seen"),
                    counter = ctx.counter, input = ctx.input.topic, id = ctx.execution_id}
          end}
          :build()
        local r = wf:execute({topic = "tides"})
        return {out = r.output, exec = r.execution_id, shared = wf:get_shared_data("seen")}
        """
    ).value
    out = result["out"]
    assert out["prev"] == "first:ctx"
    assert out["first"] == "first:ctx"
    assert out["shared"] == "tides"
    assert out["counter"] == 1
    assert out["input"] == "tides"
    assert out["id"] == result["exec"]
    assert result["shared"] == "tides"


def test_nested_workflow_step_returns_the_inner_output(lua: LuaWorld) -> None:
    result = lua.ok(
        """
        local inner = Workflow.sequential{name = "inner", steps = {
          {name = "up", fn = function(i) return string.upper(i.text) end},
        }}
        local outer = Workflow.sequential{name = "outer", steps = {
          {name = "call", type = "workflow", workflow = inner, input = {text = "{{input.word}}"}},
          {name = "after", fn = function(prev) return prev .. "!" end},
          {name = "by-name", type = "workflow", workflow = "inner", input = "{{input}}"},
        }}
        return outer:execute({word = "deep", text = "named"})
        """
    ).value
    assert result["outputs"]["call"] == "DEEP"
    assert result["output"] == "NAMED"
    assert result["outputs"]["after"] == "DEEP!"
    assert result["steps"][0]["workflow_result"]["workflow_name"] == "inner"


def test_nested_failure_fails_the_outer_step(lua: LuaWorld) -> None:
    message = lua.fails(
        """
        local inner = Workflow.sequential{name = "inner", steps = {
          {name = "bad", fn = function() error("deep trouble", 0) end}}}
        Workflow.sequential{name = "outer", steps = {
          {name = "call", type = "workflow", workflow = inner}}}:execute()
        """
    )
    assert message == "Step 'call' failed: Step 'bad' failed: deep trouble"


def test_a_workflow_that_runs_itself_by_name_stops_with_a_clear_error(lua: LuaWorld) -> None:
    message = lua.fails(
        """
        Workflow.sequential{name = "ouroboros", steps = {
          {name = "again", type = "workflow", workflow = "ouroboros"}}}:execute()
        """
    )
    assert "nested more than 64 deep" in message
    assert "ouroboros" in message


def test_build_without_a_type_raises_at_the_callers_line(lua: LuaWorld) -> None:
    run = lua.run('local b = Workflow.builder():name("x")\nb:build()')
    assert run.error.startswith("Workflow type not specified")
    assert run.outcome.failure is not None
    assert run.outcome.failure.location == ("(test)", 2)


def test_bad_steps_are_rejected_when_added(lua: LuaWorld) -> None:
    assert "Unknown step type 'shell'" in lua.fails(
        'Workflow.builder():sequential():add_step({name = "x", type = "shell"})'
    )
    assert "tool step needs tool" in lua.fails(
        'Workflow.builder():sequential():add_step({name = "x", type = "tool"})'
    )
    assert "has no type" in lua.fails('Workflow.sequential():step({name = "x"})')
    assert "a step must be a table" in lua.fails('Workflow.sequential():step("oops")')
    assert "function step needs fn" in lua.fails(
        'Workflow.sequential():step({name = "x", type = "function"})'
    )
    run = lua.run('local b = Workflow.sequential()\n\nb:step({name = "x", type = "nope"})')
    assert run.outcome.failure is not None
    assert run.outcome.failure.location == ("(test)", 3)


def test_builder_methods_need_a_colon(lua: LuaWorld) -> None:
    assert "must be called with ':'" in lua.fails('Workflow.builder().name("x")')


def test_unknown_error_strategy_is_a_clear_error(lua: LuaWorld) -> None:
    message = lua.fails('Workflow.builder():error_strategy("contiune")')
    assert message.startswith("bad argument #1 to 'error_strategy' (unknown error strategy")


def test_constructors_check_required_fields(lua: LuaWorld) -> None:
    assert lua.fails("Workflow.sequential{steps = {}}") == "Workflow.sequential: 'name' is required"
    assert "'steps' is required" in lua.fails('Workflow.sequential{name = "x"}')
    assert "'body'" in lua.fails('Workflow.loop{name = "x"}')


def test_execute_accepts_a_string_and_rejects_other_types(lua: LuaWorld) -> None:
    result = lua.ok(
        """
        local wf = Workflow.sequential():name("s")
          :step{name = "echo", fn = function(i) return i.text end}:build()
        return wf:execute("hi")
        """
    ).value
    assert result["output"] == "hi"
    message = lua.fails(
        'Workflow.sequential():name("s"):step{name = "e", fn = print}:build():execute(5)'
    )
    assert message == "bad argument #1 to 'execute' (table expected, got number)"


def test_timeout_stops_the_workflow_between_steps(lua: LuaWorld) -> None:
    result = lua.ok(
        """
        local function busy() local t = os.clock() while os.clock() - t < 0.03 do end end
        local wf = Workflow.builder():name("slow"):sequential():timeout_ms(10)
          :error_strategy("continue")
          :add_step({name = "a", fn = busy}):add_step({name = "b", fn = busy})
          :build()
        return wf:execute()
        """
    ).value
    assert result["status"] == "failed"
    assert "timed out" in result["error"]
    assert [s["name"] for s in result["steps"]] == ["a"]


def test_instance_records_outputs_and_metrics(lua: LuaWorld) -> None:
    run = lua.ok(
        """
        local wf = Workflow.sequential():name("m")
          :step{name = "a", fn = function() return "A" end}:build()
        local before = {pcall(wf.get_execution_id, wf)}
        local r = wf:execute()
        return {
          before = before[2], exec = wf:get_execution_id(),
          same = wf:get_execution_id() == r.execution_id,
          out = wf:get_output("a"), missing = wf:get_output("zzz"), names = wf:list_outputs(),
          all = wf:get_all_outputs(), metrics = wf:get_metrics(), valid = wf:validate(),
          cleared = wf:clear_outputs(), after = wf:list_outputs(),
        }
        """
    ).value
    assert "No workflow execution found. Run execute() first." in run["before"]
    assert run["same"] is True
    assert run["out"]["step_name"] == "a"
    assert run["out"]["output"] == "A"
    assert "missing" not in run
    assert run["names"] == ["a"]
    assert run["all"]["a"]["output"] == "A"
    assert run["metrics"]["executions"] == 1
    assert run["metrics"]["successes"] == 1
    assert run["valid"] == {
        "valid": True,
        "workflow_id": run["metrics"]["workflow_id"],
        "errors": [],
        "warnings": [],
    }
    assert run["cleared"] == {"deleted": 1}
    assert run["after"] == []


def test_instance_callbacks_are_called(lua: LuaWorld) -> None:
    run = lua.ok(
        """
        local log = {}
        local wf = Workflow.sequential():name("cb"):on_error("continue")
          :step{name = "bad", fn = function() error("x", 0) end}:build()
        wf:on_before_execute(function(input) log[#log + 1] = "before " .. input.k end)
          :on_after_execute(function(result) log[#log + 1] = "after " .. result.status end)
          :on_error(function(err) log[#log + 1] = "error " .. err end)
        Workflow.setDefaultErrorHandler(function(err, result) log[#log + 1] = "default" end)
        wf:execute({k = "v"})
        return log
        """
    ).value
    assert run == ["before v", "error Step 'bad' failed: x", "default", "after failed"]


def test_instance_fields_are_read_only(lua: LuaWorld) -> None:
    message = lua.fails(
        'local wf = Workflow.sequential():name("ro"):step{name="a", fn=print}:build()\n'
        'wf.name = "other"'
    )
    assert "read-only" in message


def test_registry_lists_gets_and_removes_instances(lua: LuaWorld) -> None:
    run = lua.ok(
        """
        local a = Workflow.sequential():name("alpha"):step{name = "s", fn = print}:build()
        local b = Workflow.parallel():name("beta"):branch("x", {fn = print}):build()
        local listed = Workflow.list()
        local got = Workflow.get(a.id) == a and Workflow.get("beta") == b
        local kind = Workflow.get("loop")
        local ok, err = pcall(Workflow.get, "nope")
        local removed = Workflow.remove(a.id)
        local again = Workflow.remove(a.id)
        local left = #Workflow.list()
        local cleared = Workflow.clear()
        local id = Workflow.register("sequential", {name = "reg", steps = {}})
        return {listed = listed, got = got, kind = kind, err = err, removed = removed,
                again = again, left = left, cleared = cleared, types = Workflow.types(),
                reg = Workflow.get(id).name, debug = Workflow.isDebugEnabled()}
        """
    ).value
    assert [(w["name"], w["type"]) for w in run["listed"]] == [
        ("alpha", "sequential"),
        ("beta", "parallel"),
    ]
    assert run["got"] is True
    assert run["kind"]["type"] == "loop"
    assert "features" in run["kind"]
    assert "Workflow not found: 'nope'" in run["err"]
    assert (run["removed"], run["again"], run["left"], run["cleared"]) == (True, False, 1, 1)
    assert run["types"] == ["sequential", "conditional", "loop", "parallel"]
    assert run["reg"] == "reg"
    assert run["debug"] is False


def test_debug_mode_traces_steps_to_stderr(lua: LuaWorld) -> None:
    run = lua.ok(
        """
        Workflow.enableDebug(true)
        Workflow.sequential():name("traced"):step{name = "a", fn = function() return 1 end}
          :build():execute()
        Workflow.enableDebug(false)
        """
    )
    assert "[workflow traced] step 'a' completed in" in run.stderr


def test_result_converts_to_json(lua: LuaWorld) -> None:
    run = lua.ok(
        """
        local r = Workflow.sequential():name("j")
          :step{name = "a", fn = function() return {1, 2} end}
          :build():execute()
        return JSON.parse(JSON.stringify(r)).outputs.a
        """
    )
    assert run.value == [1, 2]


def test_a_step_result_in_a_template_is_the_steps_text_output(lua: LuaWorld) -> None:
    # LLMSpell scripts chain tools with "{{step.NAME.result}}": the next tool gets a string
    result = lua.ok(
        """
        local wf = Workflow.sequential():name("chain")
          :step{name = "up", type = "tool", tool = "text-manipulator",
                input = {operation = "uppercase", input = "hello"}}
          :step{name = "rev", type = "tool", tool = "text-manipulator",
                input = {operation = "reverse", input = "{{step.up.result}}"}}
          :step{name = "echo", fn = function(i) return i end,
                input = {a = "{{previous.result}}", b = "{{up.result}}"}}
          :build()
        return wf:execute({})
        """
    ).value
    assert result["outputs"]["rev"]["result"]["result"] == "OLLEH"
    assert result["outputs"]["echo"] == {"a": "OLLEH", "b": "HELLO"}


def test_a_failing_tool_step_names_no_internal_file(lua: LuaWorld) -> None:
    message = lua.fails(
        """
        Workflow.sequential():name("bad")
          :step{name = "up", type = "tool", tool = "text-manipulator",
                input = {operation = "uppercase", input = {}}}
          :build():execute({})
        """
    )
    assert "must be a string" in message
    assert "[llmspell]" not in message
    assert "workflow_steps" not in message
