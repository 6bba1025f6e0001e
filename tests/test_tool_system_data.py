"""process-executor, environment-reader, system-monitor, url-analyzer, data-validator,
diff-calculator, csv-analyzer."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import LuaWorld


def _result(lua: LuaWorld, tool: str, params: str) -> Any:
    return lua.ok(f'return Tool.execute("{tool}", {params})').value


def test_process_executor_runs_allowed_commands_without_a_shell(
    make_lua: Callable[..., LuaWorld], tmp_path: Path
) -> None:
    lua = make_lua(tools={"allowed_paths": [str(tmp_path)]})
    value = _result(lua, "process-executor", '{executable = "echo", arguments = {"a;b", "$(id)"}}')
    assert value["result"]["stdout"] == "a\\;b \n"
    assert value["result"]["exit_code"] == 0
    assert value["result"]["timed_out"] is False
    assert value["message"].startswith("Process 'echo' executed successfully in")
    value = _result(
        lua, "process-executor", f'{{executable = "pwd", working_directory = "{tmp_path}"}}'
    )
    assert value["result"]["stdout"].strip() == str(tmp_path.resolve())
    missing = tmp_path / "nonexistent"
    value = _result(lua, "process-executor", f'{{executable = "ls", arguments = {{"{missing}"}}}}')
    assert value["success"] is True
    assert value["result"]["success"] is False
    assert "failed with exit code Some(2)" in value["message"]


def test_process_executor_refuses_what_is_not_allowed(lua: LuaWorld) -> None:
    message = lua.fails('Tool.execute("process-executor", {executable = "rm"})')
    assert "Security violation: Execution of 'rm' is not permitted" in message
    message = lua.fails('Tool.execute("process-executor", {executable = "no-such-binary-x"})')
    assert "Validation error: Executable not found in PATH: no-such-binary-x" in message
    message = lua.fails('Tool.execute("process-executor", {executable = "echo;rm"})')
    assert "Validation error: Invalid executable name" in message
    message = lua.fails(
        'Tool.execute("process-executor", {executable = "pwd", working_directory = "/etc"})'
    )
    assert "Security violation" in message


def test_environment_reader_reads_allowed_names_and_never_secrets(
    lua: LuaWorld, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LANG", "C.UTF-8")
    monkeypatch.setenv("LC_TIME", "C")
    monkeypatch.setenv("LC_API_KEY", "secret")
    value = _result(lua, "environment-reader", '{operation = "get", variable_name = "LANG"}')
    assert value["result"] == {"variable_name": "LANG", "value": "C.UTF-8", "found": True}
    value = _result(lua, "environment-reader", '{operation = "pattern", pattern = "LC_*"}')
    assert value["result"]["variables"] == {"LC_TIME": "C"}
    message = lua.fails(
        'Tool.execute("environment-reader", {operation = "get", variable_name = "LC_API_KEY"})'
    )
    assert "Security violation: Access to environment variable 'LC_API_KEY' is not permitted" in (
        message
    )
    message = lua.fails(
        'Tool.execute("environment-reader", {operation = "set",'
        ' variable_name = "TZ", value = "UTC"})'
    )
    assert "Security violation" in message


def test_system_monitor_reports_memory_and_disk(lua: LuaWorld) -> None:
    value = _result(lua, "system-monitor", '{operation = "memory"}')
    assert value["result"]["total_memory_bytes"] > 0
    assert 0 <= value["result"]["memory_usage_percent"] <= 100
    value = _result(lua, "system-monitor", '{operation = "disk"}')
    assert value["result"]["disk_usage"]["/"]["total_bytes"] > 0


def test_url_analyzer_breaks_a_url_into_parts(lua: LuaWorld) -> None:
    value = _result(
        lua, "url-analyzer", '{input = "HTTPS://user:pw@Example.com:8443/a%20b?q=1&x=y%2Fz#top"}'
    )
    result = value["result"]
    assert result["scheme"] == "https"
    assert result["host"] == "example.com"
    assert result["port"] == 8443
    assert result["path"] == "/a b"
    assert result["query_params"] == {"q": "1", "x": "y/z"}
    assert result["fragment"] == "top"
    assert result["has_password"] is True
    assert result["host_info"] == {"type": "domain", "value": "example.com", "is_ip": False}
    assert result["normalized"] == "https://example.com:8443/a%20b?q=1&x=y%2Fz#top"
    message = lua.fails('Tool.execute("url-analyzer", {input = "not a url"})')
    assert "Validation error: Invalid URL: not a url" in message


def test_data_validator_reports_every_rule_failure(lua: LuaWorld) -> None:
    value = _result(
        lua,
        "data-validator",
        """{
      input = {name = "", email = "nope", tags = {"a", "a"}, age = 200},
      rules = {rules = {{type = "object", required = {"name", "id"}, properties = {
        name = {rules = {{type = "required"}}},
        email = {rules = {{type = "email"}}},
        age = {rules = {{type = "range", min = 0, max = 150}}},
        tags = {rules = {{type = "array", unique = true,
                          item_rules = {rules = {{type = "length", max = 0}}}}}},
      }}}}}""",
    )
    assert value["message"] == "Data validation failed"
    fields = sorted((e["field"], e["rule"]) for e in value["result"]["errors"])
    assert fields == [
        ("input.age", "range"),
        ("input.email", "email"),
        ("input.id", "required"),
        ("input.name", "required"),
        ("input.tags", "array"),
        ("input.tags[0]", "length"),
        ("input.tags[1]", "length"),
    ]
    value = _result(
        lua, "data-validator", '{input = "a@b.co", rules = {rules = {{type = "email"}}}}'
    )
    assert value["result"] == {"valid": True, "errors": []}
    message = lua.fails('Tool.execute("data-validator", {input = 1, rules = {rules = {{}}}})')
    assert "Validation error: Invalid rules format" in message


def test_diff_calculator_text_and_json(lua: LuaWorld) -> None:
    value = _result(
        lua, "diff-calculator", '{old_text = "a\\nb\\nc\\n", new_text = "a\\nB\\nc\\n"}'
    )
    assert value["operation"] == "text_diff"
    assert value["result"]["diff"].startswith("--- old\n+++ new\n")
    assert "-b\n+B\n" in value["result"]["diff"]
    assert value["result"]["stats"] == {"old_lines": 3, "new_lines": 3}
    value = _result(
        lua, "diff-calculator", '{old_text = "x\\n", new_text = "y\\n", format = "simple"}'
    )
    assert value["result"]["diff"].startswith("Total changes: 2")
    value = _result(
        lua,
        "diff-calculator",
        """{type = "json",
      old_json = {a = 1, b = {c = 2}, gone = true, list = {1, 2}},
      new_json = {a = 1, b = {c = 3}, new = "x", list = {1, 2}}}""",
    )
    diff = value["result"]["diff"]
    assert diff["added"] == {"new": "x"}
    assert diff["removed"] == {"gone": True}
    assert diff["modified"] == {"b.c": {"old": 2, "new": 3}}
    assert sorted(diff["unchanged"]) == ["a", "list[]"]
    assert value["result"]["summary"] == {"added": 1, "removed": 1, "modified": 1, "unchanged": 2}


CSV = "name,age,email\\nAnn,31,ann@x.io\\nBob,19,bob\\nCy,45,cy@x.io\\n"


def test_csv_analyzer_analyzes_filters_and_converts(lua: LuaWorld) -> None:
    value = _result(lua, "csv-analyzer", f'{{input = "{CSV}"}}')
    data = value["data"]
    assert (data["row_count"], data["column_count"], data["delimiter"]) == (3, 3, ",")
    age = data["columns"][1]
    assert age["data_type"] == "integer"
    assert age["mean"] == pytest.approx(95 / 3)
    assert age["median"] == 31
    value = _result(
        lua,
        "csv-analyzer",
        f'{{input = "{CSV}", operation = "filter", options = {{filter = "age > 30"}}}}',
    )
    assert value["text"] == "name,age,email\nAnn,31,ann@x.io\nCy,45,cy@x.io\n"
    value = _result(
        lua,
        "csv-analyzer",
        f'{{input = "{CSV}", operation = "convert", options = {{format = "json"}}}}',
    )
    assert value["data"][1] == {"name": "Bob", "age": "19", "email": "bob"}
    value = _result(
        lua,
        "csv-analyzer",
        f'{{input = "{CSV}", operation = "validate",'
        ' options = {rules = {email = "email", age = "range:20-50"}}}',
    )
    assert value["data"]["error_count"] == 2
    assert {(e["row"], e["column"]) for e in value["data"]["errors"]} == {(2, "email"), (2, "age")}
    value = _result(
        lua,
        "csv-analyzer",
        f'{{input = "{CSV}", operation = "transform",'
        ' options = {rename_columns = {age = "years"}, add_columns = {double = "years * 2"}}}',
    )
    assert value["text"].splitlines()[:2] == ["name,years,email,double", "Ann,31,ann@x.io,62"]
    message = lua.fails(
        f'Tool.execute("csv-analyzer", {{input = "{CSV}", operation = "filter",'
        ' options = {filter = "height > 1"}})'
    )
    assert "Unknown column 'height'; columns are: name, age, email" in message
