"""calculator and json-processor: the two tools with their own languages (jq is libjq, run in
a worker process: jq_query.py)."""

from __future__ import annotations

import re
import time

import pytest

from kernel_core.runtime.tools import calculator, jq_query
from kernel_core.runtime.tools.errors import (
    ResourceLimitError,
    SecurityViolation,
    ToolValidationError,
)
from tests.conftest import LuaWorld


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        ("2 + 3 * 4", 14.0),
        ("(2 + 3) * 4", 20.0),
        ("2 ^ 3 ^ 2", 512.0),
        ("-2 ^ 2", -4.0),
        ("10 % 3", 1.0),
        ("sqrt(16) + abs(-2)", 6.0),
        ("log(2, 8)", 3.0),
        ("max(1, 7, 3) - min(4, 2)", 5.0),
        ("3 > 2 && 1 == 1", 1.0),
        ("!(1 < 0) || 0", 1.0),
        ("round(0.5, 2.3)", 2.5),
        ("x * y", 12.0),
    ],
)
def test_calculator_evaluates_the_fasteval_grammar(
    lua: LuaWorld, expression: str, expected: float
) -> None:
    value = lua.ok(
        f'return Tool.execute("calculator", {{input = "{expression}", '
        "variables = {x = 3, y = 4, label = 'ignored'}}).result"
    ).value
    assert value["result"] == pytest.approx(expected)
    assert value["result_type"] == "float"
    assert value["variables"] == {"x": 3.0, "y": 4.0}


def test_calculator_reports_special_values_and_failures_without_raising(lua: LuaWorld) -> None:
    value = lua.ok(
        'local a = Tool.execute("calculator", {input = "1/0"})\n'
        'local b = Tool.execute("calculator", {input = "2 +* 3"})\n'
        'local c = Tool.execute("calculator", {input = "os.exit(1)"})\n'
        'local d = Tool.execute("calculator", {input = "y + 1"})\n'
        "return {a.result.result, a.result.result_type, b.success, b.error.message,"
        " c.success, d.error.message, a.resource_usage.operations_count}"
    ).value
    assert value[:3] == ["Infinity", "special", False]
    assert "Unexpected '*'" in value[3]
    assert value[4] is False
    assert "Undefined variable: y" in value[5]
    assert value[6] == 1


def test_calculator_enforces_its_limits() -> None:
    with pytest.raises(calculator.CalculationError, match="too long"):
        calculator.parse("1+" * 600 + "1")
    with pytest.raises(calculator.CalculationError, match="nested too deeply"):
        calculator.parse("(" * 25 + "1" + ")" * 25)
    with pytest.raises(calculator.CalculationError, match="Too many operations"):
        calculator.parse("+".join(["1"] * 120))
    tree, _ = calculator.parse("10 ^ 5000")
    with pytest.raises(calculator.CalculationError, match="Exponent"):
        calculator.evaluate(tree, {}, float("inf"))


def test_calculator_validate_and_functions_operations(lua: LuaWorld) -> None:
    value = lua.ok(
        'local v = Tool.execute("calculator", {operation = "validate", input = "1 +"})\n'
        'local f = Tool.execute("calculator", {operation = "functions"})\n'
        "return {v.result.valid, v.result.error, f.result.constants[1]}"
    ).value
    assert value == [False, "Unexpected end of expression", "pi()"]


DATA = {
    "users": [
        {"name": "Alice", "age": 30, "tags": ["admin"]},
        {"name": "Bob", "age": 20, "tags": []},
    ],
    "meta": {"b": 2, "a": 1},
}


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        (".users[0].name", ["Alice"]),
        (".users[-1].age", [20]),
        (".users[] | select(.age > 25) | .name", ["Alice"]),
        ('[.users[].name] | join(", ")', ["Alice, Bob"]),
        (".users | map(.age) | add", [50]),
        (".meta | keys", [["a", "b"]]),
        ('.meta | to_entries | map(.key + "=" + (.value | tostring))', [["b=2", "a=1"]]),
        ("{n: .users[0].name, count: (.users | length)}", [{"n": "Alice", "count": 2}]),
        (".users | sort_by(.age) | first | .name", ["Bob"]),
        (".users | map(select(.tags | length > 0)) | length", [1]),
        (".users[] | .name, .age", ["Alice", 30, "Bob", 20]),
        ('"hi \\(.users[1].name)"', ["hi Bob"]),
        ('.missing // "default"', ["default"]),
        ('if .meta.a == 1 then "one" else "other" end', ["one"]),
        ("reduce .users[] as $u (0; . + $u.age)", [50]),
        ('.users[0] | has("tags") and (.age >= 30)', [True]),
        ("[.users[].age] | unique | last", [30]),
        ("del(.users) | keys", [["meta"]]),
        (".meta.a = 5 | .meta.a", [5]),
        (".meta |= with_entries(.value += 1) | .meta", [{"b": 3, "a": 2}]),
        ('[.users[].name | ascii_downcase | test("^a")]', [[True, False]]),
        (".users | map({(.name): .age}) | add", [{"Alice": 30, "Bob": 20}]),
        ("[.[] | type]", [["array", "object"]]),
        (".users[1:] | length", [1]),
        (".meta | not", [False]),
    ],
)
def test_jq_evaluates_common_queries(query: str, expected: list[object]) -> None:
    assert jq_query.query(query, DATA) == expected


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("def inc: . + 1; [.users[].age | inc]", [[31, 21]]),
        ("[foreach .users[] as $u (0; . + $u.age)]", [[30, 50]]),
        ("[label $out | .users[] | if .age < 25 then .name, break $out else empty end]", [["Bob"]]),
        ("[.meta | tostream] | length", [3]),
        ('[paths(type == "number")] | length', [4]),
        (". as {users: [$first]} | $first.name", ["Alice"]),
        ('"\\(1 + 2)" | ltrimstr("x")', ["3"]),
        ("[limit(2; repeat(1))]", [[1, 1]]),
        ('getpath(["users", 0, "age"])', [30]),
    ],
)
def test_jq_is_the_whole_language(query: str, expected: list[object]) -> None:
    """What the hand-written subset refused (def, foreach, label, streaming, destructuring)."""
    assert jq_query.query(query, DATA) == expected


@pytest.mark.parametrize(
    ("query", "name"),
    [
        ("env", "env"),
        ("$ENV.HOME", "$ENV"),
        ('"home: \\(env.HOME)"', "env"),
        ("[inputs]", "inputs"),
        ('include "x"; .', "include"),
        ("input_filename", "input_filename"),
        ("halt_error", "halt_error"),
    ],
)
def test_jq_queries_that_read_outside_their_input_are_refused(query: str, name: str) -> None:
    with pytest.raises(SecurityViolation, match=re.escape(f"'{name}' reads outside")):
        jq_query.query(query, DATA)


def test_jq_names_that_are_fields_or_strings_are_not_refused() -> None:
    data = {"env": "dev", "input": 1}
    assert jq_query.query('.env, .input, "env", {env: 1}.env', data) == ["dev", 1, "env", 1]


def test_jq_errors_are_libjqs_own() -> None:
    with pytest.raises(ToolValidationError, match=r"Invalid jq query '\.a \|': syntax error"):
        jq_query.query(".a |", DATA)
    with pytest.raises(jq_query.JqError, match=re.escape('Cannot index number with string ("b")')):
        jq_query.query(".users[0].age.b", DATA)


def test_a_jq_query_whose_caller_gave_up_is_stopped(lua: LuaWorld) -> None:
    message = lua.fails(
        'Tool.execute("json-processor", {input = 1, query = "until(false; .)"}, {timeout = 0.3})'
    )
    assert "timed out" in message or "time" in message, message
    started = time.monotonic()
    assert jq_query.query(".", 5) == [5]  # the worker was stopped, a fresh one answers
    assert time.monotonic() - started < 5


def test_a_runaway_jq_query_is_stopped_and_the_next_one_runs() -> None:
    with pytest.raises(ResourceLimitError, match=r"ran for more than 0.5 s"):
        jq_query.query("until(false; .)", 1, timeout=0.5)
    with pytest.raises(ResourceLimitError, match="more than 100000 results"):
        jq_query.query("range(1e9)", None)
    assert jq_query.query(".users | length", DATA) == [2]


def test_json_processor_returns_the_result_itself_as_data_and_text(lua: LuaWorld) -> None:
    value = lua.ok(
        'local input = {users = {{name = "Alice", age = 30}, {name = "Bob", age = 20}}}\n'
        'local one = Tool.execute("json-processor", {input = input, query = ".users[0].name"})\n'
        'local many = Tool.execute("json-processor",'
        ' {input = JSON.stringify(input), query = ".users[] | .age"})\n'
        'local obj = Tool.execute("json-processor", {input = input, query = ".users[1]"})\n'
        "return {one.data, one.text, many.data, obj.data.name, one.metadata.response.success}"
    ).value
    assert value == ["Alice", '"Alice"', [30, 20], "Bob", True]


def test_json_processor_errors_name_the_problem(lua: LuaWorld) -> None:
    message = lua.fails('Tool.execute("json-processor", {input = {a = 1}, query = "env.HOME"})')
    assert message.startswith("Tool execution failed: Security violation: jq query refused")
    message = lua.fails('Tool.execute("json-processor", {input = {a = 1}, query = "def x: 1;"})')
    assert "Validation error: Invalid jq query 'def x: 1;': Top-level program not given" in message
    message = lua.fails('Tool.execute("json-processor", {input = {a = 1}, query = ".a.b"})')
    expected = "jq query '.a.b' failed: Cannot index number with string (\"b\")"
    assert expected in message
    message = lua.fails('Tool.execute("json-processor", {input = "{bad", query = "."})')
    assert "Validation error: Invalid JSON input" in message


def test_json_processor_validates_against_a_schema_and_streams_json_lines(
    lua: LuaWorld,
) -> None:
    value = lua.ok(
        "local schema = {type = 'object', required = {'name', 'age'},\n"
        "  properties = {name = {type = 'string'}, age = {type = 'integer', minimum = 0}}}\n"
        "local good = Tool.execute('json-processor', {operation = 'validate',"
        " input = {name = 'A', age = 3}, schema = schema})\n"
        "local bad = Tool.execute('json-processor', {operation = 'validate',"
        " input = {age = -1}, schema = schema})\n"
        "local s = Tool.execute('json-processor', {operation = 'stream',"
        " input = '{\"v\": 1}\\n{\"v\": 2}\\n', query = '.v * 10'})\n"
        "return {good.data.is_valid, bad.data.is_valid, bad.data.errors, s.data}"
    ).value
    assert value[0] is True
    assert value[1] is False
    keywords = sorted(e["keyword"] for e in value[2])
    assert keywords == ["minimum", "required"]
    assert value[3] == [10, 20]
