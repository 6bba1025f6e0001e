"""Workflow hook points, and tool and agent steps through the Tool and Agent globals."""

from __future__ import annotations

from tests.conftest import LuaWorld

TWO_STEPS = """
local wf = Workflow.sequential()
  :name("hooked")
  :step{name = "one", fn = function(i) return (i.n or 0) + 1 end}
  :step{name = "two", fn = function(n) return n * 10 end}
  :build()
"""


def test_hook_points_fire_per_stage_in_order(lua: LuaWorld) -> None:
    run = lua.ok(
        """
        local seen = {}
        for _, point in ipairs({"BeforeWorkflowStart", "BeforeWorkflowStage", "AfterWorkflowStage",
            "WorkflowStageTransition", "AfterWorkflowComplete"}) do
          Hook.register(point, function(ctx)
            local d = ctx.data
            seen[#seen + 1] = point .. ":" .. tostring(d.step_name or d.to_step or d.status)
              .. ":" .. ctx.component_id.name
          end)
        end
        """
        + TWO_STEPS
        + """
        wf:execute({n = 1})
        return seen
        """
    ).value
    assert run == [
        "BeforeWorkflowStart:nil:hooked",
        "BeforeWorkflowStage:one:hooked",
        "AfterWorkflowStage:one:hooked",
        "WorkflowStageTransition:two:hooked",
        "BeforeWorkflowStage:two:hooked",
        "AfterWorkflowStage:two:hooked",
        "AfterWorkflowComplete:completed:hooked",
    ]


def test_stage_hook_data_carries_input_output_and_ids(lua: LuaWorld) -> None:
    run = lua.ok(
        """
        local before, after
        Hook.register("BeforeWorkflowStage", function(ctx) before = before or ctx.data end)
        Hook.register("AfterWorkflowStage", function(ctx) after = after or ctx.data end)
        """
        + TWO_STEPS
        + """
        local r = wf:execute({n = 4})
        return {before = before, after = after, exec = r.execution_id, id = wf.id}
        """
    ).value
    before, after = run["before"], run["after"]
    assert before["input"] == {"n": 4}
    assert before["step_name"] == "one"
    assert before["step_index"] == 1
    assert before["step_type"] == "function"
    assert before["workflow_type"] == "sequential"
    assert before["execution_id"] == run["exec"]
    assert before["workflow_id"] == run["id"]
    assert after["output"] == 5
    assert after["success"] is True


def test_before_start_modified_replaces_the_input(lua: LuaWorld) -> None:
    result = lua.ok(
        """
        Hook.register("BeforeWorkflowStart", function(ctx)
          return {type = "modified", data = {n = 100}}
        end)
        """
        + TWO_STEPS
        + "return wf:execute({n = 1})"
    ).value
    assert result["output"] == 1010


def test_before_stage_skip_and_replace(lua: LuaWorld) -> None:
    result = lua.ok(
        """
        Hook.register("BeforeWorkflowStage", function(ctx)
          if ctx.data.step_name == "one" then return {type = "replace", data = 7} end
        end)
        """
        + TWO_STEPS
        + "return wf:execute({n = 1})"
    ).value
    assert result["outputs"] == {"one": 7, "two": 70}
    skipped = lua.ok(
        """
        Hook.register("BeforeWorkflowStage", function(ctx)
          if ctx.data.step_name == "two" then return "skip" end
        end)
        local wf = Workflow.sequential():name("s")
          :step{name = "one", fn = function() return 1 end}
          :step{name = "two", fn = function() error("must not run") end}
          :build()
        return wf:execute()
        """
    ).value
    assert skipped["success"] is True
    assert skipped["steps"][1]["status"] == "skipped"
    assert skipped["metadata"]["extra"]["skipped_steps"] == 1


def test_before_stage_modified_changes_the_step_input(lua: LuaWorld) -> None:
    result = lua.ok(
        """
        Hook.register("BeforeWorkflowStage", function(ctx)
          if ctx.data.step_name == "two" then return {type = "modified", data = 3} end
        end)
        """
        + TWO_STEPS
        + "return wf:execute({n = 1})"
    ).value
    assert result["output"] == 30


def test_after_stage_modified_changes_the_output_seen_downstream(lua: LuaWorld) -> None:
    result = lua.ok(
        """
        Hook.register("AfterWorkflowStage", function(ctx)
          if ctx.data.step_name == "one" then return {type = "modified", data = 9} end
        end)
        """
        + TWO_STEPS
        + "return wf:execute({n = 1})"
    ).value
    assert result["outputs"] == {"one": 9, "two": 90}


def test_cancel_from_a_hook_returns_a_cancelled_result(lua: LuaWorld) -> None:
    result = lua.ok(
        """
        Hook.register("WorkflowStageTransition", function(ctx) return "budget exhausted" end)
        """
        + TWO_STEPS
        + "return wf:execute({n = 1})"
    ).value
    assert result["success"] is False
    assert result["status"] == "cancelled"
    assert "budget exhausted" in result["error"]
    assert list(result["outputs"]) == ["one"]
    assert "was cancelled" in result["text"]


def test_cancel_before_start_runs_nothing(lua: LuaWorld) -> None:
    result = lua.ok(
        """
        Hook.register("BeforeWorkflowStart", function()
          return {type = "cancel", reason = "closed"}
        end)
        """
        + TWO_STEPS
        + "return wf:execute({n = 1})"
    ).value
    assert result["status"] == "cancelled"
    assert result["steps"] == []
    assert "closed" in result["error"]


def test_workflow_error_hook_can_retry_or_recover_a_step(lua: LuaWorld) -> None:
    run = lua.ok(
        """
        local errors = {}
        Hook.register("WorkflowError", function(ctx)
          errors[#errors + 1] = ctx.data.error
          if #errors == 1 then return {type = "retry", delay_ms = 0, max_attempts = 2} end
          return {type = "replace", data = "recovered"}
        end)
        local wf = Workflow.sequential():name("e")
          :step{name = "bad", fn = function() error("nope", 0) end}
          :step{name = "next", fn = function(prev) return prev .. "!" end}
          :build()
        return {result = wf:execute(), errors = errors}
        """
    ).value
    assert run["errors"] == ["nope", "nope"]
    assert run["result"]["success"] is True
    assert run["result"]["output"] == "recovered!"
    assert run["result"]["steps"][0]["attempts"] == 2


def test_after_complete_modified_changes_the_workflow_output(lua: LuaWorld) -> None:
    result = lua.ok(
        """
        Hook.register("AfterWorkflowComplete", function(ctx)
          return {type = "modified", data = "final:" .. tostring(ctx.data.output)}
        end)
        """
        + TWO_STEPS
        + "return wf:execute({n = 1})"
    ).value
    assert result["output"] == "final:20"


def test_hooks_receive_plain_data_even_for_function_outputs(lua: LuaWorld) -> None:
    run = lua.ok(
        """
        local got
        Hook.register("AfterWorkflowStage", function(ctx) got = ctx.data.output end)
        Workflow.sequential():name("f")
          :step{name = "fnout", fn = function() return {call = print} end}:build():execute()
        return got
        """
    ).value
    assert run == {"call": "<function>"}


def test_tool_step_runs_through_the_tool_global(lua: LuaWorld) -> None:
    result = lua.ok(
        """
        local wf = Workflow.builder():name("calc"):sequential()
          :add_step({name = "calc", type = "tool", tool = "calculator",
                     input = {operation = "evaluate", input = "{{input.expr}}"}})
          :add_step({name = "say", type = "template", template = "answer: {{step.calc.output}}"})
          :build()
        return wf:execute({expr = "6*7"})
        """
    ).value
    assert result["outputs"]["calc"]["result"]["result"] == 42
    assert result["output"] == "answer: 42"


def test_tool_step_reporting_failure_fails_the_step(lua: LuaWorld) -> None:
    message = lua.fails(
        """
        Workflow.sequential{name = "bad-calc", steps = {
          {name = "calc", type = "tool", tool = "calculator",
           input = {operation = "evaluate", input = "1 +* 2"}}}}:execute()
        """
    )
    assert message.startswith("Step 'calc' failed: tool 'calculator' failed:")


def test_registered_lua_tool_gets_piped_parameters(lua: LuaWorld) -> None:
    result = lua.ok(
        """
        Tool.register("shout", function(params)
          return {success = true, result = params.text:upper()}
        end)
        local wf = Workflow.sequential()
          :name("piped")
          :step{name = "build", fn = function(i) return {text = i.word .. "!"} end}
          :step{name = "tool", type = "tool", tool = "shout", input = "{{previous}}"}
          :build()
        return wf:execute({word = "hey"})
        """
    ).value
    assert result["outputs"]["tool"]["result"] == "HEY!"


def test_missing_tool_fails_the_step(lua: LuaWorld) -> None:
    message = lua.fails(
        'Workflow.sequential{name = "x", steps = {{name = "t", tool = "no-such-tool"}}}:execute()'
    )
    assert message.startswith("Step 't' failed:")
    assert "no-such-tool" in message


def test_agent_step_with_string_and_table_input_fills_agent_outputs(lua: LuaWorld) -> None:
    result = lua.ok(
        """
        Agent.builder():name("writer"):model("local/test"):build()
        local wf = Workflow.sequential()
          :name("agents")
          :step{name = "draft", type = "agent", agent = "writer",
                input = "Write about {{input.topic}}"}
          :step{name = "polish", type = "agent", agent = "writer",
                input = {text = "Polish: {{previous}}"}}
          :build()
        return wf:execute({topic = "tides"})
        """
    ).value
    draft = result["outputs"]["draft"]
    assert isinstance(draft, str)
    assert "Write about tides" in draft
    assert "Polish: " in result["outputs"]["polish"]
    agent_outputs = result["metadata"]["extra"]["agent_outputs"]
    assert agent_outputs == {"writer": result["outputs"]["polish"]}
    assert result["steps"][0]["response"]["text"] == draft


def test_agent_step_for_an_unknown_agent_fails_clearly(lua: LuaWorld) -> None:
    message = lua.fails(
        'Workflow.sequential():name("x"):step{name = "a", agent = "ghost", input = "hi"}'
        ":build():execute()"
    )
    assert message.startswith("Step 'a' failed: Agent 'ghost' not found")


def test_agents_in_parallel_branches(lua: LuaWorld) -> None:
    result = lua.ok(
        """
        Agent.builder():name("p1"):model("local/test"):build()
        Agent.builder():name("p2"):model("local/test"):build()
        return Workflow.parallel()
          :name("duo")
          :branch("left", {agent = "p1", input = "left {{input.q}}"})
          :branch("right", {agent = "p2", input = "right {{input.q}}"})
          :build():execute({q = "why"})
        """
    ).value
    assert "left why" in result["output"]["left"]
    assert "right why" in result["output"]["right"]
    assert set(result["metadata"]["extra"]["agent_outputs"]) == {"p1", "p2"}
