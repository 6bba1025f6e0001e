"""The Session and Artifact globals: lifecycle, listing, artifacts and their errors."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.conftest import LuaWorld


def test_create_returns_a_uuid_string_and_get_returns_the_record(lua: LuaWorld) -> None:
    run = lua.ok(
        """
        local id = Session.create({name = 'research', description = 'd', tags = {'a', 'b'},
                                   metadata = {owner = 'ada'}})
        return {id, Session.get(id)}
        """
    )
    session_id, record = run.value
    assert len(session_id) == 36
    assert session_id.count("-") == 4
    assert record["id"] == session_id
    assert record["name"] == "research"
    assert record["description"] == "d"
    assert record["tags"] == ["a", "b"]
    assert record["status"] == "active"
    assert record["custom_metadata"] == {"owner": "ada"}
    assert record["created_at"].endswith("Z")
    assert "parent_session_id" not in record  # nil in Lua


def test_builder_collects_name_description_and_tags(lua: LuaWorld) -> None:
    run = lua.ok(
        """
        local parent = Session.create()
        local id = Session.builder():name('b'):description('desc'):tag('x'):tags({'y', 'z'})
          :parent_session_id(parent):build()
        local s = Session.get(id)
        return {s.name, s.description, s.tags, s.parent_session_id == parent}
        """
    )
    assert run.value == ["b", "desc", ["x", "y", "z"], True]


def test_builder_methods_called_with_a_dot_explain_the_colon(lua: LuaWorld) -> None:
    message = lua.fails("Session.builder().name('x')")
    assert message == "'SessionBuilder:name' must be called with ':' (e.g. obj:name(...)), not '.'"


def test_list_filters_by_tags_status_and_limit(lua: LuaWorld) -> None:
    run = lua.ok(
        """
        local a = Session.create({name = 'a', tags = {'red', 'big'}})
        local b = Session.create({name = 'b', tags = {'red'}})
        Session.create({name = 'c'})
        Session.complete(b)
        local function names(list)
          local out = {}
          for i, s in ipairs(list) do out[i] = s.name end
          return out
        end
        return {names(Session.list()), names(Session.list({tags = {'red'}})),
                names(Session.list({tags = {'red', 'big'}})),
                names(Session.list({status = 'completed'})), names(Session.list({limit = 1}))}
        """
    )
    assert run.value == [["a", "b", "c"], ["a", "b"], ["a"], ["b"], ["a"]]


def test_suspend_resume_complete_move_the_status(lua: LuaWorld) -> None:
    run = lua.ok(
        """
        local id = Session.create()
        local seen = {}
        Session.suspend(id) seen[1] = Session.get(id).status
        Session.resume(id) seen[2] = Session.get(id).status
        Session.complete(id, 'summary is ignored') seen[3] = Session.get(id).status
        return seen
        """
    )
    assert run.value == ["suspended", "active", "completed"]


def test_a_completed_session_cannot_be_resumed(lua: LuaWorld) -> None:
    message = lua.fails("local id = Session.create() Session.complete(id) Session.resume(id)")
    assert message.startswith("Session.resume: session ")
    assert message.endswith("is completed; only a session that is suspended can be resumed")


def test_save_and_load_confirm_the_session_and_load_returns_its_id(lua: LuaWorld) -> None:
    run = lua.ok("local id = Session.create() Session.save(id) return Session.load(id) == id")
    assert run.value is True


def test_sessions_persist_across_runtimes(make_lua: Callable[..., LuaWorld]) -> None:
    first = make_lua()
    session_id = first.ok(
        "local id = Session.create({name = 'kept'}) "
        "Artifact.store(id, 'user_input', 'q.txt', 'question') return id"
    ).value
    first.runtime.close()
    second = make_lua()
    run = second.ok(f"return {{Session.get('{session_id}').name, #Artifact.list('{session_id}')}}")
    assert run.value == ["kept", 1]


def test_invalid_and_unknown_session_ids_raise(lua: LuaWorld) -> None:
    assert lua.fails("Session.get('nope')") == "Session.get: Invalid session ID: nope"
    message = lua.fails("Session.delete('00000000-0000-4000-8000-000000000000')")
    assert message == ("Session.delete: Session not found: 00000000-0000-4000-8000-000000000000")


def test_current_session_is_set_cleared_and_forgotten_on_delete(lua: LuaWorld) -> None:
    run = lua.ok(
        """
        local before = Session.get_current()
        local id = Session.create()
        Session.set_current(id)
        local during = Session.get_current() == id
        Session.set_current(nil)
        local cleared = Session.get_current()
        Session.set_current(id)
        Session.delete(id)
        return {before == nil, during, cleared == nil, Session.get_current() == nil}
        """
    )
    assert run.value == [True, True, True, True]


def test_delete_removes_the_session_and_its_artifacts(lua: LuaWorld) -> None:
    run = lua.ok(
        """
        local id = Session.create()
        Artifact.store(id, 'tool_result', 'r', 'x')
        Session.delete(id)
        return {pcall(Session.get, id), #Artifact.query({})}
        """
    )
    assert run.value == [False, 0]  # pcall's message is cut by the table constructor


def test_replay_is_not_supported_and_says_so(lua: LuaWorld) -> None:
    run = lua.ok(
        "local id = Session.create() return {Session.can_replay(id), Session.list_replayable()}"
    )
    assert run.value == [False, []]
    message = lua.fails("Session.replay(Session.create())")
    assert message.startswith("Session.replay is not supported: ")
    assert "llmspell replay" in message
    assert lua.fails("Session.get_replay_metadata(Session.create())").startswith(
        "Session.get_replay_metadata is not supported"
    )


def test_artifact_store_returns_an_id_table_with_a_sha256_hash(lua: LuaWorld) -> None:
    run = lua.ok(
        """
        local sid = Session.create()
        local a = Artifact.store(sid, 'agent_output', 'answer.md', '# Hello')
        local b = Artifact.store(sid, 'agent_output', 'other.md', 'x')
        return {a.session_id == sid, a.sequence, b.sequence, a.content_hash}
        """
    )
    assert run.value == [True, 0, 1, hashlib.sha256(b"# Hello").hexdigest()]


def test_artifact_get_returns_content_and_metadata(lua: LuaWorld) -> None:
    run = lua.ok(
        """
        local sid = Session.create()
        local id = Artifact.store(sid, 'tool_result', 'data.json', '{"a":1}',
          {description = 'raw', tags = {'json'}, created_by = 'calc', source = 'api'})
        return Artifact.get(sid, id)
        """
    )
    content, meta = run.value["content"], run.value["metadata"]
    assert content == '{"a":1}'
    assert meta["name"] == "data.json"
    assert meta["artifact_type"] == "tool_result"
    assert meta["mime_type"] == "application/json"
    assert meta["size"] == 7
    assert meta["description"] == "raw"
    assert meta["tags"] == ["json"]
    assert meta["created_by"] == "calc"
    assert meta["custom"] == {"source": "api"}
    assert meta["version"] == 1
    assert meta["is_compressed"] is False


def test_binary_content_round_trips_byte_for_byte(lua: LuaWorld) -> None:
    run = lua.ok(
        """
        local sid = Session.create()
        local data = '\\0\\255\\1\\128png'
        local id = Artifact.store(sid, 'custom', 'blob', data)
        local got = Artifact.get(sid, id)
        return {got.content == data, got.metadata.mime_type, got.metadata.size}
        """
    )
    assert run.value == [True, "application/octet-stream", 7]


def test_storing_a_name_again_makes_a_new_version_pointing_at_the_old(lua: LuaWorld) -> None:
    run = lua.ok(
        """
        local sid = Session.create()
        local v1 = Artifact.store(sid, 'agent_output', 'draft', 'one')
        local v2 = Artifact.store(sid, 'agent_output', 'draft', 'two')
        local meta = Artifact.get(sid, v2).metadata
        return {meta.version, meta.parent_artifact.sequence == v1.sequence}
        """
    )
    assert run.value == [2, True]


def test_store_file_reads_the_file_and_names_the_artifact_after_it(
    lua: LuaWorld, tmp_path: Path
) -> None:
    file = tmp_path / "notes.txt"
    file.write_text("file body")
    run = lua.ok(
        f"""
        local sid = Session.create()
        local id = Artifact.store_file(sid, '{file}', 'user_input', {{tags = {{'f'}}}})
        local got = Artifact.get(sid, id)
        return {{got.content, got.metadata.name, got.metadata.mime_type, got.metadata.tags}}
        """
    )
    assert run.value == ["file body", "notes.txt", "text/plain", ["f"]]


def test_store_file_of_a_missing_file_is_an_error(lua: LuaWorld, tmp_path: Path) -> None:
    message = lua.fails(
        f"Artifact.store_file(Session.create(), '{tmp_path / 'missing'}', 'user_input')"
    )
    assert (
        message
        == f"Artifact.store_file: cannot read '{tmp_path / 'missing'}': No such file or directory"
    )


def test_store_file_outside_allowed_paths_is_denied_when_restricted(
    make_lua: Callable[..., LuaWorld],
) -> None:
    world = make_lua(runtime={"sandbox": "restricted"})
    message = world.fails("Artifact.store_file(Session.create(), '/etc/hostname', 'user_input')")
    assert message.startswith(
        "Artifact.store_file: access to '/etc/hostname' is denied in the restricted sandbox"
    )


def test_empty_session_id_means_the_current_session(lua: LuaWorld) -> None:
    run = lua.ok(
        """
        local sid = Session.create()
        Session.set_current(sid)
        local id = Artifact.store('', 'user_input', 'q', 'hi')
        return {id.session_id == sid, #Artifact.list(''), Artifact.get('', id).content}
        """
    )
    assert run.value == [True, 1, "hi"]


def test_artifact_calls_without_a_current_session_explain_what_to_do(lua: LuaWorld) -> None:
    assert lua.fails("Artifact.list('')") == (
        "Artifact.list: no current session; pass a session id or call Session.set_current(id) first"
    )


def test_query_filters_by_type_name_tags_size_and_time(lua: LuaWorld) -> None:
    run = lua.ok(
        """
        local s1, s2 = Session.create(), Session.create()
        Artifact.store(s1, 'tool_result', 'report-1.txt', 'aaaa', {tags = {'weekly'}})
        Artifact.store(s1, 'agent_output', 'summary.txt', 'bb')
        Artifact.store(s2, 'tool_result', 'report-2.txt', 'cccccc', {tags = {'weekly', 'x'}})
        local function names(list)
          local out = {}
          for i, m in ipairs(list) do out[i] = m.name end
          return out
        end
        return {
          names(Artifact.query({type = 'tool_result'})),
          names(Artifact.query({session_id = s1})),
          names(Artifact.query({name_pattern = 'report-*.txt'})),
          names(Artifact.query({name_pattern = 'summ'})),
          names(Artifact.query({tags = {'weekly', 'x'}})),
          names(Artifact.query({min_size = 3, max_size = 4})),
          names(Artifact.query({created_after = '2000-01-01T00:00:00Z', limit = 1})),
          names(Artifact.query({created_before = '2000-01-01T00:00:00+02:00'})),
        }
        """
    )
    assert run.value == [
        ["report-1.txt", "report-2.txt"],
        ["report-1.txt", "summary.txt"],
        ["report-1.txt", "report-2.txt"],
        ["summary.txt"],
        ["report-2.txt"],
        ["report-1.txt"],
        ["report-1.txt"],
        {},  # names() builds a plain {}: an empty table, not a marked array
    ]


def test_query_rejects_unknown_fields_and_bad_timestamps(lua: LuaWorld) -> None:
    assert lua.fails("Artifact.query({kind = 'x'})").startswith(
        "Artifact.query: unknown query field 'kind' (known: session_id, type"
    )
    assert lua.fails("Artifact.query({created_after = 'yesterday'})") == (
        "Artifact.query: 'yesterday' is not an RFC 3339 timestamp (for example "
        "2025-01-31T12:00:00Z)"
    )


def test_artifact_delete_removes_it_and_a_second_delete_fails(lua: LuaWorld) -> None:
    run = lua.run(
        """
        local sid = Session.create()
        local id = Artifact.store(sid, 'user_input', 'q', 'x')
        Artifact.delete(sid, id)
        assert(#Artifact.list(sid) == 0)
        Artifact.delete(sid, id)
        """
    )
    assert run.error.startswith("Artifact.delete: Artifact not found: sequence 0 with hash ")


@pytest.mark.parametrize(
    ("code", "message"),
    [
        ("Session.create('x')", "bad argument #1 to 'Session.create' (table expected, got string)"),
        ("Session.create({tags = 'a'})", "Session.create: 'tags' must be an array of strings"),
        ("Session.create({name = {}})", "Session.create: 'name' must be a string, got a table"),
        ("Session.get()", "bad argument #1 to 'Session.get' (string expected, got no value)"),
        ("Session.list({limit = -1})", "Session.list: 'limit' must be 0 or more, got -1"),
        (
            "Session.list({status = 'gone'})",
            "Session.list: 'status' must be one of active, suspended, completed, got 'gone'",
        ),
        (
            "Session.builder():tags({1})",
            "bad argument #1 to 'SessionBuilder:tags' (tag 1 is a number, not a string)",
        ),
        (
            "Artifact.store(Session.create(), 'x', 'n', {})",
            "bad argument #4 to 'Artifact.store' (string expected, got table)",
        ),
        (
            "Artifact.store(Session.create(), '', 'n', 'c')",
            "Artifact.store: the artifact type must be a non-empty string",
        ),
        (
            "Artifact.get(Session.create(), {sequence = 1})",
            (
                "Artifact.get: argument #2 must be an artifact id as Artifact.store returns it: "
                "{content_hash = string, session_id = string, sequence = integer}"
            ),
        ),
        (
            "Artifact.get(Session.create())",
            "bad argument #2 to 'Artifact.get' (table expected, got no value)",
        ),
        ("Artifact.store('bad', 'x', 'n', 'c')", "Artifact.store: Invalid session ID: bad"),
    ],
)
def test_bad_arguments_are_clear_errors(lua: LuaWorld, code: str, message: str) -> None:
    assert lua.fails(code) == message
