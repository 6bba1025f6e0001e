"""Workflow control flow: parallel branches as coroutines, conditions, loops."""

from __future__ import annotations

from tests.conftest import LuaWorld

# A step that records "<tag>" in the global log and returns it.
LOG = """
log = {}
local function note(tag) return function() log[#log + 1] = tag return tag end end
"""


def test_parallel_branches_interleave_step_by_step(lua: LuaWorld) -> None:
    run = lua.ok(
        LOG
        + """
        local wf = Workflow.parallel()
          :name("fan")
          :branch("a", {{name = "a1", fn = note("a1")}, {name = "a2", fn = note("a2")}})
          :branch("b", {{name = "b1", fn = note("b1")}, {name = "b2", fn = note("b2")}})
          :build()
        local r = wf:execute({})
        return {log = log, result = r}
        """
    ).value
    assert run["log"] == ["a1", "b1", "a2", "b2"]
    result = run["result"]
    assert result["output"] == {"a": "a2", "b": "b2"}
    extra = result["metadata"]["extra"]
    assert (extra["total_branches"], extra["successful_branches"], extra["failed_branches"]) == (
        2,
        2,
        0,
    )
    assert (
        "Parallel workflow 'fan' completed successfully. 2 branches executed, 2 succeeded, "
        "0 failed." in result["text"]
    )
    assert [s["branch"] for s in result["steps"]] == ["a", "b", "a", "b"]


def test_a_function_step_can_yield_to_other_branches(lua: LuaWorld) -> None:
    run = lua.ok(
        """
        local log = {}
        local function chatty(tag)
          return function()
            log[#log + 1] = tag .. "-start"
            coroutine.yield()
            log[#log + 1] = tag .. "-end"
            return tag
          end
        end
        Workflow.parallel{name = "y", branches = {
          {name = "x", steps = {{name = "x", fn = chatty("x")}}},
          {name = "y", steps = {{name = "y", fn = chatty("y")}}},
        }}:execute()
        return log
        """
    ).value
    assert run == ["x-start", "y-start", "x-end", "y-end"]


def test_max_concurrency_limits_how_many_branches_run_at_once(lua: LuaWorld) -> None:
    run = lua.ok(
        LOG
        + """
        Workflow.parallel()
          :name("one-at-a-time"):max_concurrency(1)
          :branch("a", {{name = "a1", fn = note("a1")}, {name = "a2", fn = note("a2")}})
          :branch("b", {{name = "b1", fn = note("b1")}, {name = "b2", fn = note("b2")}})
          :build():execute()
        return log
        """
    ).value
    assert run == ["a1", "a2", "b1", "b2"]


def test_a_branch_waiting_to_retry_lets_the_others_run(lua: LuaWorld) -> None:
    run = lua.ok(
        """
        local log, tries = {}, 0
        local wf = Workflow.parallel{name = "backoff", branches = {
          {name = "flaky", steps = {{name = "flaky", retry_count = 1, retry_delay_ms = 40,
            fn = function()
              tries = tries + 1
              log[#log + 1] = "flaky" .. tries
              if tries == 1 then error("first try fails", 0) end
              return "ok"
            end}}},
          {name = "steady", steps = {
            {name = "s1", fn = function() log[#log + 1] = "s1" end},
            {name = "s2", fn = function() log[#log + 1] = "s2" end},
          }},
        }}
        local r = wf:execute()
        return {log = log, success = r.success}
        """
    ).value
    assert run == {"log": ["flaky1", "s1", "s2", "flaky2"], "success": True}


def test_reference_builder_parallel_runs_each_added_step_as_a_branch(lua: LuaWorld) -> None:
    result = lua.ok(
        """
        local wf = Workflow.builder():name("p"):parallel()
          :add_step({name = "left", type = "function", fn = function(i) return i.v + 1 end})
          :add_step({name = "right", type = "function", fn = function(i) return i.v + 2 end})
          :build()
        return wf:execute({v = 10})
        """
    ).value
    assert result["output"] == {"left": 11, "right": 12}
    assert result["metadata"]["extra"]["total_branches"] == 2


def test_parallel_constructor_accepts_branches_and_plain_steps(lua: LuaWorld) -> None:
    result = lua.ok(
        """
        return Workflow.parallel{name = "mixed", branches = {
          {name = "b1", steps = {{name = "s1", fn = function() return 1 end}}},
          {name = "plain", fn = function() return 2 end},
        }}:execute()
        """
    ).value
    assert result["output"] == {"b1": 1, "plain": 2}


def test_parallel_merge_strategies(lua: LuaWorld) -> None:
    run = lua.ok(
        """
        local function build(merge)
          return Workflow.parallel():name("m-" .. merge):merge_strategy(merge)
            :branch("a", {fn = function() return "yes" end})
            :branch("b", {fn = function() return "no" end})
            :branch("c", {fn = function() return "yes" end})
            :build():execute().output
        end
        return {list = build("list"), first = build("first"), vote = build("vote")}
        """
    ).value
    assert run == {"list": ["yes", "no", "yes"], "first": "yes", "vote": "yes"}


def test_parallel_fail_fast_stops_other_branches_and_raises(lua: LuaWorld) -> None:
    run = lua.run(
        LOG
        + """
        Workflow.parallel()
          :name("ff")
          :branch("good", {{name = "g1", fn = note("g1")}, {name = "g2", fn = note("g2")}})
          :branch("bad", {{name = "bad", fn = function() error("broken", 0) end}})
          :build():execute()
        """
    )
    assert run.error == "Step 'bad' failed: broken"
    assert lua.ok("return log").value == ["g1"]


def test_parallel_continue_counts_failed_branches(lua: LuaWorld) -> None:
    result = lua.ok(
        """
        return Workflow.parallel()
          :name("pc"):on_error("continue")
          :branch("bad", {fn = function() error("broken", 0) end})
          :branch("good", {fn = function() return "fine" end})
          :build():execute()
        """
    ).value
    assert result["success"] is False
    assert result["output"] == {"good": "fine"}
    extra = result["metadata"]["extra"]
    assert (extra["successful_branches"], extra["failed_branches"]) == (1, 1)


def test_conditional_with_a_lua_function_condition(lua: LuaWorld) -> None:
    run = lua.ok(
        """
        local wf = Workflow.conditional()
          :name("router")
          :condition(function(ctx) return ctx.input_type == "code" end)
          :when_true({name = "coder", fn = function() return "code path" end})
          :when_false({name = "general", fn = function() return "general path" end})
          :build()
        local a = wf:execute({input_type = "code"})
        local b = wf:execute({input_type = "prose"})
        return {a = a.output, b = b.output, branch = b.metadata.extra.executed_branch,
                text = a.text}
        """
    ).value
    assert run["a"] == "code path"
    assert run["b"] == "general path"
    assert run["branch"] == "else_branch"
    assert (
        "Conditional workflow 'router' completed successfully. Branch 'then_branch'"
        in (run["text"])
    )


def test_reference_conditional_with_shared_data_condition(lua: LuaWorld) -> None:
    run = lua.ok(
        """
        local wf = Workflow.builder():name("cond"):conditional()
          :condition({type = "shared_data_equals", key = "mode", value = "fast"})
          :add_then_step({name = "fast", type = "function", fn = function() return "F" end})
          :add_else_step({name = "slow", type = "function", fn = function() return "S" end})
          :build()
        local before = wf:execute().output
        wf:set_shared_data("mode", "fast")
        return {before = before, after = wf:execute().output}
        """
    ).value
    assert run == {"before": "S", "after": "F"}


def test_conditional_add_step_steps_run_in_the_then_branch(lua: LuaWorld) -> None:
    result = lua.ok(
        """
        return Workflow.builder():name("kept"):conditional()
          :condition({type = "always"})
          :add_step({name = "one", fn = function() return 1 end})
          :add_then_step({name = "two", fn = function(n) return n + 1 end})
          :build():execute()
        """
    ).value
    assert [s["name"] for s in result["steps"]] == ["one", "two"]
    assert result["output"] == 2


def test_conditional_branches_pick_the_first_match(lua: LuaWorld) -> None:
    run = lua.ok(
        """
        local wf = Workflow.conditional{name = "multi", branches = {
          {name = "big", condition = "n > 100",
           steps = {{name = "b", fn = function() return "big" end}}},
          {name = "mid", condition = {type = "and", conditions = {
              {type = "input_exists", key = "n"},
              {type = "not", condition = {type = "input_equals", key = "n", value = 0}}}},
            steps = {{name = "m", fn = function() return "mid" end}}},
        }, default_branch = {steps = {{name = "z", fn = function() return "zero" end}}}}
        return {wf:execute({n = 500}).output, wf:execute({n = 5}).output,
                wf:execute({n = 0}).output}
        """
    ).value
    assert run == ["big", "mid", "zero"]


def test_loop_condition_can_test_the_last_step_output(lua: LuaWorld) -> None:
    result = lua.ok(
        """
        local polls = 0
        return Workflow.builder():name("poll"):loop()
          :loop_condition({type = "not", condition =
            {type = "step_output_contains", step = "poll", value = "done"}})
          :add_step({name = "poll", fn = function()
            polls = polls + 1
            return polls < 3 and "waiting" or "done"
          end})
          :build():execute()
        """
    ).value
    assert result["output"] == ["waiting", "waiting", "done"]


def test_validate_warns_about_a_conditional_without_else(lua: LuaWorld) -> None:
    report = lua.ok(
        """
        return Workflow.conditional():name("no-else")
          :add_branch({type = "input_exists", key = "x"}, {{name = "page", fn = print}})
          :build():validate()
        """
    ).value
    assert report["valid"] is True
    assert "no else branch" in report["warnings"][0]


def test_unknown_condition_type_is_rejected(lua: LuaWorld) -> None:
    message = lua.fails('Workflow.conditional():condition({type = "sometimes"})')
    assert message.startswith("condition: Unknown condition type 'sometimes'")
    assert "bad expression" in lua.fails(
        'local ok, e = pcall(Workflow.conditional().condition, Workflow.conditional(), "1 +")\n'
        'error(e:find("not a Lua expression") and "bad expression" or e)'
    )


def test_a_failing_condition_fails_the_workflow(lua: LuaWorld) -> None:
    message = lua.fails(
        """
        Workflow.conditional():name("c")
          :condition(function() error("no idea", 0) end)
          :when_true({name = "t", fn = print}):build():execute()
        """
    )
    assert message == "condition of branch 'then_branch' failed: no idea"


def test_loop_over_a_range_passes_each_value(lua: LuaWorld) -> None:
    result = lua.ok(
        """
        return Workflow.builder():name("r"):loop()
          :with_range({start = 1, ["end"] = 6, step = 2})
          :add_step({name = "sq", fn = function(v, ctx) return v * v + ctx.iteration / 10 end})
          :build():execute()
        """
    ).value
    assert result["output"] == [1.1, 9.2, 25.3]
    assert result["metadata"]["extra"]["iterations"] == 3
    assert "Loop workflow 'r' completed successfully. 3 iterations completed" in result["text"]


def test_loop_over_a_collection_with_templates(lua: LuaWorld) -> None:
    result = lua.ok(
        """
        return Workflow.loop{name = "each", iterator = {collection = {"a", "b"}}, body = {
          {name = "tag", type = "template", template = "{{loop.index}}={{loop.value}}"},
        }}:execute()
        """
    ).value
    assert result["output"] == ["1=a", "2=b"]


def test_loop_without_iterator_counts_to_max_iterations(lua: LuaWorld) -> None:
    run = lua.ok(
        """
        local counted = Workflow.loop():name("n"):max_iterations(4)
          :body({name = "inc", fn = function(prev)
            return (type(prev) == "table" and prev.n or prev) + 1
          end})
          :build():execute({n = 0})
        local default = Workflow.builder():name("d"):loop()
          :add_step({name = "s", fn = function() return 1 end}):build():execute()
        local capped = Workflow.builder():name("c"):loop():with_range({start = 1, ["end"] = 100})
          :max_iterations(2):add_step({name = "s", fn = function(v) return v end}):build():execute()
        return {counted = counted.output, default = #default.output, capped = capped.output}
        """
    ).value
    assert run == {"counted": [1, 2, 3, 4], "default": 9, "capped": [1, 2]}


def test_while_loop_with_a_lua_condition_and_context_updates(lua: LuaWorld) -> None:
    run = lua.ok(
        """
        local wf = Workflow.loop()
          :name("drain")
          :condition(function(ctx) return ctx.items_remaining > 0 end)
          :body({name = "take", fn = function(input, ctx) return ctx.items_remaining end,
                 update = function(ctx, result)
                   ctx.items_remaining = ctx.items_remaining - 1
                 end})
          :build()
        return wf:execute({items_remaining = 3}).output
        """
    ).value
    assert run == [3, 2, 1]


def test_while_expression_and_break_loop(lua: LuaWorld) -> None:
    run = lua.ok(
        """
        local w = Workflow.builder():name("w"):loop():with_while("iteration <= 3")
          :add_step({name = "i", fn = function(_, ctx) return ctx.iteration end}):build()
        local b = Workflow.loop():name("b"):max_iterations(50)
          :body({name = "stop", fn = function(_, ctx)
            if ctx.iteration == 2 then ctx:break_loop() end
            return ctx.iteration
          end}):build()
        local forever = Workflow.builder():name("f"):loop()
          :loop_condition(function() return true end)
          :add_step({name = "x", fn = function() return 0 end}):build()
        return {w = w:execute().output, b = b:execute().output, n = #forever:execute().output}
        """
    ).value
    assert run == {"w": [1, 2, 3], "b": [1, 2], "n": 100}


def test_loop_constructor_honours_its_iterator(lua: LuaWorld) -> None:
    result = lua.ok(
        """
        return Workflow.loop{name = "honest",
          iterator = {range = {start = 0, ["end"] = 3, step = 1}},
          body = {{name = "v", fn = function(v) return v end}}}:execute()
        """
    ).value
    assert result["output"] == [0, 1, 2]


def test_loop_fail_fast_stops_at_the_failing_iteration(lua: LuaWorld) -> None:
    message = lua.fails(
        """
        Workflow.loop{name = "l", iterator = {collection = {1, 2, 3}}, body = {
          {name = "check", fn = function(v) if v == 2 then error("two!", 0) end return v end}}}
          :execute()
        """
    )
    assert message == "Step 'check' failed: two!"


def test_bad_range_is_rejected(lua: LuaWorld) -> None:
    assert "range step must not be 0" in lua.fails(
        'Workflow.loop():with_range({start = 1, ["end"] = 5, step = 0})'
    )
