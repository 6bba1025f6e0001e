"""text-manipulator, hash-calculator, base64-encoder, uuid-generator, datetime-handler,
template-creator."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import LuaWorld


def _result(lua: LuaWorld, tool: str, params: str) -> Any:
    return lua.ok(f'return Tool.execute("{tool}", {params})').value


@pytest.mark.parametrize(
    ("operation", "text", "options", "expected"),
    [
        ("uppercase", "abc", "{}", "ABC"),
        ("reverse", "abc", "{}", "cba"),
        ("trim", "  x  ", "{}", "x"),
        ("replace", "a-b-c", "{from = '-', to = '+'}", "a+b+c"),
        ("substring", "hello", "{start = 1, ['end'] = 3}", "el"),
        ("substring", "hello", "{start = 4, ['end'] = 99}", ""),
        ("split", "a b c", "{}", '["a", "b", "c"]'),
        ("join", '["a","b"]', "{delimiter = ','}", "a,b"),
        ("snake_case", "Hello WorldFoo", "{}", "hello_world_foo"),
        ("camel_case", "hello_world", "{}", "helloWorld"),
        ("pascal_case", "hello world", "{}", "HelloWorld"),
        ("truncate", "abcdefghij", "{max_length = 6}", "abc..."),
        ("indent", "a\nb", "{spaces = 2}", "  a\n  b"),
        ("normalize_whitespace", " a \t b\n", "{}", "a b"),
        ("word_wrap", "aaa bbb ccc", "{width = 7}", "aaa bbb\nccc"),
        ("sanitize", "a\x01b\u00e9\tc", "{}", "ab\tc"),
    ],
)
def test_text_manipulator_operations(
    lua: LuaWorld, operation: str, text: str, options: str, expected: str
) -> None:
    value = _result(
        lua,
        "text-manipulator",
        f"{{input = {text!r}, operation = '{operation}', options = {options}}}",
    )
    assert value["message"] == f"Text {operation} operation completed"
    assert value["result"]["result"] == expected
    assert value["result"]["original_length"] == len(text)


def test_text_manipulator_unknown_operation_lists_the_valid_ones(lua: LuaWorld) -> None:
    message = lua.fails('Tool.execute("text-manipulator", {input = "x", operation = "count"})')
    assert "Validation error: Invalid operation: count. Valid operations are: uppercase" in message


def test_hash_calculator_hashes_and_verifies(
    make_lua: Callable[..., LuaWorld], tmp_path: Path
) -> None:
    lua = make_lua(tools={"allowed_paths": [str(tmp_path)]})
    (tmp_path / "f.bin").write_bytes(b"abc")
    sha = hashlib.sha256(b"abc").hexdigest()
    value = _result(lua, "hash-calculator", '{operation = "hash", input = "abc"}')
    assert value["message"] == "Calculated SHA-256 hash"
    assert value["result"] == {"algorithm": "SHA-256", "hash": sha, "format": "hex"}
    value = _result(
        lua,
        "hash-calculator",
        f'{{operation = "hash", algorithm = "md5", input_type = "file",'
        f' file = "{tmp_path}/f.bin"}}',
    )
    assert value["result"]["hash"] == hashlib.md5(b"abc").hexdigest()
    value = _result(
        lua,
        "hash-calculator",
        f'{{operation = "verify", input = "abc", expected_hash = "{sha.upper()}"}}',
    )
    assert value["result"] == {"verified": True, "algorithm": "SHA-256"}
    value = _result(
        lua, "hash-calculator", '{operation = "verify", input = "abd", expected_hash = "00"}'
    )
    assert value["success"] is True
    assert value["result"]["verified"] is False


def test_base64_round_trip_url_safe_and_errors(lua: LuaWorld) -> None:
    value = _result(lua, "base64-encoder", '{operation = "encode", input = "hi?>"}')
    assert value["result"] == {"output": "aGk/Pg==", "variant": "standard", "binary": False}
    value = _result(
        lua, "base64-encoder", '{operation = "encode", input = "hi?>", variant = "url-safe"}'
    )
    assert value["result"]["output"] == "aGk_Pg=="
    value = _result(lua, "base64-encoder", '{operation = "decode", input = "aGk/Pg=="}')
    assert value["result"]["output"] == "hi?>"
    value = _result(lua, "base64-encoder", '{operation = "decode", input = "/w=="}')
    assert value["result"] == {"output": "ff", "variant": "standard", "binary": True}
    message = lua.fails('Tool.execute("base64-encoder", {operation = "decode", input = "@@"})')
    assert "Validation error: Base64 decode error" in message


def test_uuid_generator_operations(lua: LuaWorld) -> None:
    value = _result(lua, "uuid-generator", "{}")
    assert len(value["result"]["uuid"]) == 36
    assert value["result"]["version"] == "v4"
    a = _result(lua, "uuid-generator", '{version = "v5", name = "x", format = "simple"}')
    b = _result(lua, "uuid-generator", '{version = "v5", name = "x", format = "simple"}')
    assert a["result"]["uuid"] == b["result"]["uuid"]
    assert len(a["result"]["uuid"]) == 32
    value = _result(
        lua, "uuid-generator", '{operation = "component_id", prefix = "agent", short = true}'
    )
    assert value["result"]["id"].startswith("agent_")
    assert len(value["result"]["id"]) == 14
    value = _result(
        lua, "uuid-generator", f'{{operation = "validate", uuid = "{a["result"]["uuid"]}"}}'
    )
    assert value["data"]["valid"] is True
    assert value["data"]["version"] == "v5"
    value = _result(lua, "uuid-generator", '{operation = "validate", uuid = "nope"}')
    assert value["data"] == {"valid": False, "error": "Invalid UUID format"}
    message = lua.fails('Tool.execute("uuid-generator", {version = "v5"})')
    assert "UUID v5 requires the 'name' parameter" in message


def test_datetime_handler_parses_converts_and_computes(lua: LuaWorld) -> None:
    value = _result(lua, "datetime-handler", '{input = "2024-02-29T12:30:00Z"}')
    assert value["result"]["parsed"]["weekday"] == "Thursday"
    assert value["result"]["format_used"] == "RFC3339"
    value = _result(
        lua,
        "datetime-handler",
        '{operation = "convert_timezone",'
        ' input = "2024-07-01T12:00:00Z", target_timezone = "Europe/Paris"}',
    )
    assert value["result"]["converted"] == "2024-07-01 14:00:00 CEST"
    value = _result(
        lua,
        "datetime-handler",
        '{operation = "subtract", input = "2024-03-01", amount = 1, unit = "day"}',
    )
    assert value["result"]["result"] == "2024-02-29T00:00:00Z"
    value = _result(
        lua,
        "datetime-handler",
        '{operation = "difference",'
        ' start = "2024-01-01T00:00:00Z", ["end"] = "2024-01-02T01:01:01Z"}',
    )
    assert value["result"]["difference"]["human_readable"] == "1 day, 1 hour, 1 minute, 1 second"
    value = _result(lua, "datetime-handler", '{operation = "info", input = "2024-02-10"}')
    assert value["result"]["info"]["days_in_month"] == 29
    assert value["result"]["info"]["is_leap_year"] is True
    value = _result(lua, "datetime-handler", '{operation = "now", timezone = "UTC", format = "%Y"}')
    assert value["result"]["datetime"].isdigit()
    message = lua.fails('Tool.execute("datetime-handler", {input = "not a date"})')
    assert "Tool execution error: Failed to parse date" in message
    message = lua.fails(
        'Tool.execute("datetime-handler", {operation = "now", timezone = "Mars/X"})'
    )
    assert "Invalid timezone: Mars/X" in message


def test_template_creator_renders_tera_and_handlebars_escaped(lua: LuaWorld) -> None:
    value = _result(
        lua,
        "template-creator",
        "{input = 'Hi {{ name | upper }}!"
        "{% for x in xs %} {{ loop.index }}={{ x }}{% endfor %}"
        "{% if admin %} admin{% else %} user{% endif %}',"
        " context = {name = '<b>', xs = {'a', 'b'}, admin = false}}",
    )
    assert value["result"]["rendered"] == "Hi &lt;B&gt;! 1=a 2=b user"
    assert value["message"] == "Template rendered successfully using tera engine"
    value = _result(
        lua,
        "template-creator",
        "{input = '{{#each items}}[{{@index}}:{{name}}]"
        "{{/each}}{{#if done}}ok{{else}}todo{{/if}} {{uppercase who}}',"
        " context = {items = {{name = 'x'}, {name = 'y'}}, done = true, who = 'me'}}",
    )
    assert value["result"]["rendered"] == "[0:x][1:y]ok ME"
    assert value["result"]["engine"] == "handlebars"


def test_template_creator_speaks_tera_through_jinja2(lua: LuaWorld) -> None:
    """Tera's spellings, and the rest of the language (set, ~, math, elif, loop.last)."""
    value = _result(
        lua,
        "template-creator",
        '{input = \'{% set n = xs | length %}{{ n * 2 }} {{ who ~ "!" }}'
        ' {{ missing | default(value="none") }} {{ xs | join(sep="+") }}'
        "{% for k, v in m %} {{ k }}={{ v }}{% endfor %}"
        "{% for x in xs %}{% if loop.last %} last={{ x }}{% elif loop.first %} first{% endif %}"
        "{% endfor %} {{ m | json_encode | safe }}',"
        " context = {xs = {1, 2, 3}, who = 'me', m = {a = 1}}}",
    )
    assert value["result"]["rendered"] == '6 me! none 1+2+3 a=1 first last=3 {"a": 1}'


@pytest.mark.parametrize(
    "template",
    [
        "{{ ''.__class__.__mro__ }}",
        "{{ x.__class__.__base__.__subclasses__() }}",
        "{{ cycler.__init__.__globals__ }}",
        "{% for c in [].__class__.__base__.__subclasses__() %}{{ c }}{% endfor %}",
    ],
)
def test_templates_cannot_reach_python(lua: LuaWorld, template: str) -> None:
    code = f"Tool.execute('template-creator', {{input = [==[{template}]==], context = {{x = 1}}}})"
    message = lua.fails(code)
    assert "Security violation: Template refused by the sandbox: access to attribute" in message


def test_template_creator_errors(lua: LuaWorld) -> None:
    message = lua.fails('Tool.execute("template-creator", {input = "{{ missing }}"})')
    assert "Variable `missing` not found in context" in message
    message = lua.fails(
        'Tool.execute("template-creator", {input = "{{ x }} eval(1)", context = {x = 1}})'
    )
    assert "Security violation: Template contains a forbidden pattern: eval(" in message
    message = lua.fails('Tool.execute("template-creator", {input = "{% if x %}open"})')
    assert "Unclosed '{% if %}' block" in message
