"""The error-pattern database, driven by real Lua failures through the runtime: each pattern
fires on the message Lua 5.4 really produces, and its hint tells the user what to do."""

from __future__ import annotations

import pytest

from kernel_core.devex.error_patterns import PATTERNS, explain
from tests.conftest import LuaWorld

# (pattern expected to answer, script, fragment the hint must contain)
CASES: list[tuple[str, str, str]] = [
    (
        "index-nil",
        "local function name_of(cfg)\n  return cfg.name\nend\nreturn name_of(nil)",
        "'cfg' is nil here, so it cannot be indexed",
    ),
    ("index-nil", "local t = {}\nreturn t.settings.depth", "guard it: if settings then"),
    ("index-nil", "return Cofig.get('x')", "there is no global 'Cofig'; did you mean 'Config'?"),
    (
        "index-nil-anonymous",
        "local function nothing() end\nreturn nothing().field",
        "a value is nil where a table was expected",
    ),
    (
        "index-nil-anonymous",
        "local data = {}\nfor _, v in ipairs(data.items) do end",
        "the table given to pairs()/ipairs() is nil",
    ),
    (
        "call-nil",
        "return JSON.stringfy({a = 1})",
        "JSON has no 'stringfy'; did you mean JSON.stringify?",
    ),
    ("call-nil", "return JSON.Parse('[]')", "did you mean JSON.parse?"),
    ("call-nil", "pirnt('hello')", "there is no global 'pirnt'; did you mean 'print'?"),
    ("call-nil", "local s = 'abc'\nreturn s:uper()", "did you mean 'upper' (string)?"),
    (
        "call-nil",
        "local handler\nhandler('event')",
        "'handler' is nil where it is called",
    ),
    (
        "wrong-type",
        "local count = 3\nreturn count.value",
        "'count' is a number, not a table",
    ),
    (
        "wrong-type",
        "local body = '{\"a\": 1}'\nbody.a = 2",
        "JSON.parse(s) first",
    ),
    ("wrong-type", "local config = {}\nconfig()", "'config' is a table, not a function"),
    (
        "arith",
        "local total\nreturn total + 1",
        "'total' is nil in an arithmetic expression",
    ),
    ("arith", "local t = {n = 1}\nreturn t * 2", "'t' is a table; arithmetic needs numbers"),
    (
        "string-arith",
        "local count = 'three'\nreturn count + 1",
        "used with '+'. Convert it with tonumber(s)",
    ),
    ("string-arith", "return 'abc' * 2", "used with '*'"),
    (
        "concat",
        "local name\nreturn 'hello ' .. name",
        "'name' is nil; use tostring(name) or (name or \"\")",
    ),
    (
        "concat",
        "local items = {1, 2}\nreturn 'items: ' .. items",
        "Use JSON.stringify(t), table.concat(t, ', ')",
    ),
    ("concat", "return 'flag ' .. true", "convert it with tostring() before joining"),
    ("bad-argument", "return string.rep()", "'rep' needs argument #1; it was missing"),
    (
        "bad-argument",
        "return math.floor('x')",
        "argument #1 of 'floor' must be a number; convert it with tonumber()",
    ),
    (
        "bad-argument",
        "for k in pairs(nil) do end",
        "the value looped over with pairs()/ipairs() is not a table",
    ),
    ("compare", "return 1 < 'x'", "convert both to numbers (tonumber)"),
    ("compare", "local limit\nreturn 5 > limit", "one side of the comparison is nil"),
    ("compare-same", "return {} < {}", "two table values cannot be ordered"),
    (
        "unclosed-block",
        "local function f()\n  if true then\n    return 1\nend\n",
        "the 'function' opened at line 1 has no matching 'end'",
    ),
    (
        "unclosed-block",
        "for i = 1, 3 do\n  print(i)\n",
        "the 'for' opened at line 1 has no matching 'end'",
    ),
    ("unclosed-block", "repeat\n  local x = 1\n", "has no matching 'until'"),
    ("unfinished", "print('abc)", "a string is not closed"),
    ("unfinished", "local s = [[abc", "long string opened with [["),
    ("eof", "local t = {1, 2", "missing 'end', ')' or '}'"),
    ("expected-near", "local x = 1\nif x = 1 then end", "use '==' to compare"),
    ("expected-near", "if 1 != 2 then end", "'not equal' as '~='"),
    ("expected-near", "local ok = true\nif ok print(1) end", "if cond then ... end"),
    ("expected-near", "for i = 1, 3 print(i) end", "for i = 1, n do ... end"),
    ("syntax-near", "local x = 1\nx += 1", "Lua has no ++, += or -="),
    ("divide-by-zero", "local n = 0\nreturn 10 // n", "integer division or modulo by zero"),
    ("for-value", "for i = 'a', 3 do end", "a numeric for needs numbers"),
    ("bitwise", "return 1.5 | 1", "bitwise operators need integers"),
    ("module-not-found", "require('no_such_helper')", "require looks for no_such_helper.lua"),
    ("stack-overflow", "local function f() return 1 + f() end\nreturn f()", "recursion"),
    ("error-object", "error({code = 1})", "error() was given a table"),
    ("unknown-tool", "return Tool.execute('fil-operations', {})", "did you mean 'file-operations'"),
]


@pytest.mark.parametrize(("pattern", "script", "fragment"), CASES)
def test_real_lua_failure_gets_the_right_hint(
    lua: LuaWorld, pattern: str, script: str, fragment: str
) -> None:
    run = lua.run(script)
    failure = run.outcome.failure
    assert failure is not None, f"the script did not fail: {script!r}"
    found = explain(
        failure.bare_message, source_line=failure.line_text, names=lua.runtime.api_names
    )
    assert found is not None, f"no hint for {failure.bare_message!r}"
    name, hint = found
    assert name == pattern, f"{failure.bare_message!r} was answered by {name}: {hint}"
    assert fragment in hint
    assert failure.suggestion == hint


def test_every_pattern_is_exercised_by_a_real_script() -> None:
    exercised = {pattern for pattern, _, _ in CASES}
    assert sorted(p.name for p in PATTERNS if p.name not in exercised) == []


def test_pattern_names_are_unique() -> None:
    names = [p.name for p in PATTERNS]
    assert len(names) == len(set(names))


def test_method_missing_on_an_unknown_value_is_not_corrected_to_an_unrelated_name(
    lua: LuaWorld,
) -> None:
    run = lua.run("local cache = {}\nreturn cache:lookup('k')")
    failure = run.outcome.failure
    assert failure is not None
    assert failure.suggestion is not None
    assert "did you mean" not in failure.suggestion
    assert "'lookup' is nil: the object has no method of that name" in failure.suggestion


def test_hint_is_printed_under_the_report(lua: LuaWorld) -> None:
    from kernel_core.runtime.failure import format_failure

    failure = lua.run("return JSON.stringfy({})").outcome.failure
    assert failure is not None
    report = format_failure(failure).splitlines()
    assert report[0] == "error: attempt to call a nil value (field 'stringfy')"
    assert report[-1] == "hint: JSON has no 'stringfy'; did you mean JSON.stringify?"


def test_unknown_message_gets_no_hint() -> None:
    assert explain("something nobody predicted", source_line=None, names=None) is None
