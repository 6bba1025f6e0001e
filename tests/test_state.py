"""The State global: every call, its scopes, value fidelity and its errors."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from pathlib import Path

import pytest

from kernel_core.runtime.database import database_for
from kernel_core.runtime.state_store import STATE_SCHEMA
from tests.conftest import LuaWorld


def test_set_then_get_returns_the_value_and_missing_keys_are_nil(lua: LuaWorld) -> None:
    run = lua.ok("State.set('name', 'Ada') return {State.get('name'), State.get('nobody')}")
    assert run.value == ["Ada"]


def test_values_keep_integer_float_array_and_object_shapes(lua: LuaWorld) -> None:
    lua.ok(
        "State.set('v', {i = 3, f = 3.0, list = {1, 2}, empty_list = JSON.array(), "
        "empty_obj = {}, nested = {deep = {true, false, 'x'}}})"
    )
    run = lua.ok(
        """
        local v = State.get('v')
        return {math.type(v.i), math.type(v.f), #v.list, JSON.stringify(v.empty_list),
                JSON.stringify(v.empty_obj), v.nested.deep[3]}
        """
    )
    assert run.value == ["integer", "float", 2, "[]", "{}", "x"]


def test_values_survive_closing_and_reopening_the_database(
    make_lua: Callable[..., LuaWorld],
) -> None:
    first = make_lua()
    first.ok("State.set('n', 7) State.save('custom', ':checkpoint:a', {done = true})")
    first.runtime.close()
    second = make_lua()
    run = second.ok("return {State.get('n'), State.load('custom', ':checkpoint:a').done}")
    assert run.value == [7, True]


def test_save_in_global_scope_and_get_see_the_same_value(lua: LuaWorld) -> None:
    run = lua.ok(
        """
        State.save('global', 'k', 1)
        local a = State.get('k')
        State.set('k', 2)
        return {a, State.load('global', 'k')}
        """
    )
    assert run.value == [1, 2]


def test_scopes_are_separate_and_list_keys_strips_nothing_but_the_scope(lua: LuaWorld) -> None:
    run = lua.ok(
        """
        State.save('custom', 'a', 1)
        State.save('custom', 'b:c', 2)
        State.save('other', 'a', 3)
        State.set('a', 4)
        local keys = State.list_keys('custom')
        return {keys, State.load('other', 'a'), State.get('a'), State.list_keys('empty')}
        """
    )
    assert run.value == [["a", "b:c"], 3, 4, []]


def test_set_to_nil_deletes_and_exists_reports_it(lua: LuaWorld) -> None:
    run = lua.ok(
        """
        State.set('k', false)
        local before = State.exists('k')
        State.set('k', nil)
        return {before, State.exists('k'), State.get('k') == nil}
        """
    )
    assert run.value == [True, False, True]


def test_delete_with_one_argument_is_global_and_with_two_is_scoped(lua: LuaWorld) -> None:
    run = lua.ok(
        """
        State.set('k', 1)
        State.save('s', 'k', 2)
        local removed = State.delete('s', 'k')
        local again = State.delete('s', 'k')
        return {removed, again, State.get('k'), State.delete('k'), State.get('k') == nil}
        """
    )
    assert run.value == [True, False, 1, True, True]


def test_delete_with_a_nil_second_argument_is_the_global_form(lua: LuaWorld) -> None:
    assert (
        lua.ok("State.set('k', 1) State.delete('k', nil) return State.exists('k')").value is False
    )


def test_list_and_clear_touch_only_the_global_scope(lua: LuaWorld) -> None:
    run = lua.ok(
        """
        State.set('b', 1) State.set('a', 2) State.save('kept', 'x', 3)
        local keys = State.list()
        local removed = State.clear()
        return {keys, removed, State.list(), State.load('kept', 'x')}
        """
    )
    assert run.value == [["a", "b"], 2, [], 3]


def test_scoped_calls_mirror_the_global_ones(lua: LuaWorld) -> None:
    run = lua.ok(
        """
        State.set_scoped('user:1', 'name', 'Ada')
        State.set_scoped('user:1', 'age', 36)
        State.set_scoped('user:2', 'name', 'Bob')
        local keys = State.list_scoped('user:1')
        local name = State.get_scoped('user:1', 'name')
        State.delete_scoped('user:1', 'name')
        local cleared = State.clear_scope('user:2')
        return {keys, name, State.list_scoped('user:1'), cleared, State.list_scoped('user:2')}
        """
    )
    assert run.value == [["age", "name"], "Ada", ["age"], 1, []]


def test_numbers_are_accepted_as_keys_and_scopes(lua: LuaWorld) -> None:
    assert lua.ok(
        "State.set(1, 'one') State.save(2, 3, 'x') return {State.get('1'), State.load('2', '3')}"
    ).value == ["one", "x"]


def test_workflow_agent_and_tool_helpers_share_the_flat_key_names(lua: LuaWorld) -> None:
    run = lua.ok(
        """
        State.save('workflow', 'wf1:fetch', {rows = 3})
        State.save('workflow', 'wf1:parse', 'ok')
        State.save('workflow', 'wf2:fetch', 'other')
        State.agent_set('bot', 'mood', 'calm')
        State.tool_set('calc', 'last', 42)
        return {State.workflow_get('wf1', 'fetch').rows, State.workflow_list('wf1'),
                State.agent_get('bot', 'mood'), State.load('agent', 'bot:mood'),
                State.tool_get('calc', 'last'), State.list_keys('tool')}
        """
    )
    assert run.value == [3, ["fetch", "parse"], "calm", "calm", 42, ["calc:last"]]


def test_workflow_list_treats_like_wildcards_literally(lua: LuaWorld) -> None:
    run = lua.ok(
        "State.save('workflow', 'a_b:1', 1) State.save('workflow', 'axb:2', 2) "
        "return State.workflow_list('a_b')"
    )
    assert run.value == ["1"]


def test_increment_starts_at_zero_and_keeps_integers_integers(lua: LuaWorld) -> None:
    run = lua.ok(
        """
        local a = State.increment('n')
        local b = State.increment('n', 41)
        local c = State.increment('f', 0.5)
        return {a, b, math.type(State.get('n')), c, State.increment('n', -42)}
        """
    )
    assert run.value == [1, 42, "integer", 0.5, 0]


def test_increment_of_a_string_names_the_key_and_the_type(lua: LuaWorld) -> None:
    message = lua.fails("State.set('k', 'ten') State.increment('k')")
    assert message == "State.increment: value at 'k' is a string, not a number"


def test_increment_refuses_to_overflow_a_64_bit_integer(lua: LuaWorld) -> None:
    message = lua.fails("State.set('k', math.maxinteger) State.increment('k')")
    assert "State.increment: value at 'k' would overflow a 64-bit integer" in message
    assert lua.ok("return State.get('k') == math.maxinteger").value is True


def test_append_builds_an_array_and_returns_its_length(lua: LuaWorld) -> None:
    run = lua.ok(
        """
        local n1 = State.append('log', 'start')
        local n2 = State.append('log', {step = 2})
        State.set('empty', {})
        local n3 = State.append('empty', 1)
        return {n1, n2, State.get('log'), n3}
        """
    )
    assert run.value == [1, 2, ["start", {"step": 2}], 1]


def test_append_to_a_non_array_or_of_nil_is_an_error(lua: LuaWorld) -> None:
    assert (
        lua.fails("State.set('k', {a = 1}) State.append('k', 2)")
        == "State.append: value at 'k' is a table (not an array), not an array"
    )
    assert lua.fails("State.append('k')") == (
        "bad argument #2 to 'State.append' (value expected, got no value)"
    )


def test_compare_and_swap_swaps_only_when_the_value_matches(lua: LuaWorld) -> None:
    run = lua.ok(
        """
        local created = State.compare_and_swap('lock', nil, 'me')
        local taken = State.compare_and_swap('lock', nil, 'you')
        local wrong = State.compare_and_swap('lock', 'you', 'x')
        local released = State.compare_and_swap('lock', 'me', nil)
        return {created, taken, wrong, released, State.exists('lock')}
        """
    )
    assert run.value == [True, False, False, True, False]


def test_compare_and_swap_compares_numbers_and_tables_by_value(lua: LuaWorld) -> None:
    run = lua.ok(
        """
        State.set('n', 1)
        State.set('t', {a = {1, 2}, b = {}})
        return {State.compare_and_swap('n', 1.0, 2), State.compare_and_swap('n', true, 3),
                State.compare_and_swap('t', {a = {1, 2}, b = JSON.array()}, 'swapped'),
                State.get('n'), State.get('t')}
        """
    )
    assert run.value == [True, False, True, 2, "swapped"]


def test_a_function_inside_a_value_is_an_error_naming_key_and_path(lua: LuaWorld) -> None:
    message = lua.fails("State.set('cfg', {hooks = {1, print}})")
    assert message.startswith(
        "State.set: cannot store 'cfg': cannot convert a function to data (at value.hooks[2])"
    )
    assert lua.ok("return State.exists('cfg')").value is False


def test_binary_strings_are_refused_with_a_hint(lua: LuaWorld) -> None:
    assert "is not valid UTF-8 text" in lua.fails("State.set('b', '\\255\\0')")
    assert "is not valid UTF-8 text" in lua.fails("State.set('b', {x = '\\255'})")


@pytest.mark.parametrize(
    ("code", "message"),
    [
        ("State.get()", "bad argument #1 to 'State.get' (string expected, got no value)"),
        ("State.set({}, 1)", "bad argument #1 to 'State.set' (string expected, got table)"),
        ("State.save('s')", "bad argument #2 to 'State.save' (string expected, got no value)"),
        ("State.load(nil, 'k')", "bad argument #1 to 'State.load' (string expected, got no value)"),
        ("State.delete()", "bad argument #1 to 'State.delete' (string expected, got no value)"),
        ("State.delete({}, 'k')", "bad argument #1 to 'State.delete' (string expected, got table)"),
        (
            "State.list_keys()",
            "bad argument #1 to 'State.list_keys' (string expected, got no value)",
        ),
        (
            "State.increment('k', 'x')",
            "bad argument #2 to 'State.increment' (number expected, got string)",
        ),
        (
            "State.get_scoped('s')",
            "bad argument #2 to 'State.get_scoped' (string expected, got no value)",
        ),
        (
            "State.clear_scope()",
            "bad argument #1 to 'State.clear_scope' (string expected, got no value)",
        ),
        (
            "State.workflow_get('wf')",
            "bad argument #2 to 'State.workflow_get' (string expected, got no value)",
        ),
        (
            "State.agent_set(nil, 'k', 1)",
            "bad argument #1 to 'State.agent_set' (string expected, got no value)",
        ),
        (
            "State.restore_backup()",
            "bad argument #1 to 'State.restore_backup' (string expected, got no value)",
        ),
        (
            "State.cleanup_backups(-1)",
            (
                "bad argument #1 to 'State.cleanup_backups' (number of backups to keep must be a "
                "whole number, 0 or more, got -1)"
            ),
        ),
    ],
)
def test_bad_arguments_are_reported_like_lua_reports_them(
    lua: LuaWorld, code: str, message: str
) -> None:
    assert lua.fails(code) == message


def test_errors_point_at_the_scripts_calling_line(lua: LuaWorld) -> None:
    run = lua.run("local x = 1\nState.set('k', 'a')\nState.increment('k')")
    assert run.outcome.failure is not None
    assert run.outcome.failure.location == ("(test)", 3)


def test_a_script_that_never_uses_state_never_opens_the_database(lua: LuaWorld) -> None:
    lua.ok("return 1")
    assert not database_for(lua.runtime).is_open


def test_memory_path_keeps_state_for_one_run_only(make_lua: Callable[..., LuaWorld]) -> None:
    first = make_lua(state={"path": ":memory:"})
    assert first.ok("State.set('k', 1) return State.get('k')").value == 1
    second = make_lua(state={"path": ":memory:"})
    assert second.ok("return State.get('k')").value is None


def test_default_path_is_state_sqlite3_in_the_data_dir(make_lua: Callable[..., LuaWorld]) -> None:
    import os

    world = make_lua(state={"path": ""})
    world.ok("State.set('k', 1)")
    assert (Path(os.environ["LLMSPELL_DATA_DIR"]) / "state.sqlite3").is_file()


def test_database_directory_is_created_private(
    make_lua: Callable[..., LuaWorld], tmp_path: Path
) -> None:
    path = tmp_path / "new" / "dir" / "state.sqlite3"
    world = make_lua(state={"path": str(path)})
    world.ok("State.set('secret', 'x')")
    assert path.parent.stat().st_mode & 0o777 == 0o700
    assert path.stat().st_mode & 0o777 == 0o600


@pytest.mark.parametrize(("setting", "pragma"), [("normal", 1), ("full", 2)])
def test_synchronous_setting_reaches_sqlite(
    make_lua: Callable[..., LuaWorld], setting: str, pragma: int
) -> None:
    world = make_lua(state={"synchronous": setting})
    world.ok("State.set('k', 1)")
    database = database_for(world.runtime)
    conn = database.connection(STATE_SCHEMA)
    assert conn.execute("PRAGMA synchronous").fetchone()[0] == pragma
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_a_file_that_is_not_a_database_is_a_clear_error(
    make_lua: Callable[..., LuaWorld], tmp_path: Path
) -> None:
    path = tmp_path / "junk.sqlite3"
    path.write_bytes(b"this is not sqlite" * 100)
    message = make_lua(state={"path": str(path)}).fails("State.get('k')")
    assert message.startswith(f"State.get: cannot open the state database {path}: ")
    assert "LLMSPELL_STATE__PATH" in message


def test_a_database_from_a_newer_llmspell_is_refused(
    make_lua: Callable[..., LuaWorld], tmp_path: Path
) -> None:
    make_lua().ok("State.set('k', 1)")
    with sqlite3.connect(tmp_path / "state.sqlite3") as conn:
        conn.execute("UPDATE schema_version SET version = 99 WHERE component = 'state'")
    conn.close()
    message = make_lua().fails("State.get('k')")
    assert "holds state schema version 99, newer than this llmspell understands (1)" in message


def test_schema_and_migration_calls_report_the_current_version(lua: LuaWorld) -> None:
    run = lua.ok(
        """
        local status = State.get_migration_status()
        local versions = State.get_schema_versions()
        return {status.success, status.current_version, status.pending_migrations,
                versions.versions.state, State.migrate(1).success, State.migrate(5)}
        """
    )
    assert run.value[:5] == [True, 1, 0, 1, True]
    assert run.value[5]["success"] is False
    assert "there is no state schema version 5" in run.value[5]["error"]


def test_backup_and_restore_bring_back_the_old_values(lua: LuaWorld) -> None:
    run = lua.ok(
        """
        State.set('k', 'before')
        local backup = State.create_backup()
        State.set('k', 'after')
        State.set('new', 1)
        local listed = State.list_backups()
        local valid = State.validate_backup(backup.backup_id)
        local restored = State.restore_backup(backup.backup_id)
        return {backup.success, #listed.backups, listed.backups[1].backup_id == backup.backup_id,
                valid.valid, restored.success, State.get('k'), State.exists('new')}
        """
    )
    assert run.value == [True, 1, True, True, True, "before", False]


def test_restoring_an_unknown_backup_reports_failure_instead_of_raising(lua: LuaWorld) -> None:
    result = lua.ok("return State.restore_backup('backup-nope')").value
    assert result == {
        "success": False,
        "error": "State.restore_backup: no backup named 'backup-nope' (backups: none)",
    }


def test_cleanup_backups_keeps_the_newest(lua: LuaWorld) -> None:
    run = lua.ok(
        """
        State.set('k', 1)
        local ids = {}
        for i = 1, 3 do ids[i] = State.create_backup().backup_id end
        local cleaned = State.cleanup_backups(1)
        local left = State.list_backups().backups
        return {cleaned.removed, #left, left[1].backup_id == ids[3]}
        """
    )
    assert run.value == [2, 1, True]


def test_storage_usage_counts_keys_and_scopes(lua: LuaWorld) -> None:
    usage = lua.ok(
        "State.set('a', 'xyz') State.save('s', 'b', 1) return State.get_storage_usage()"
    ).value
    assert usage["success"] is True
    assert usage["total_keys"] == 2
    assert usage["scopes"] == ["global", "s"]
    assert usage["total_bytes"] > 0
