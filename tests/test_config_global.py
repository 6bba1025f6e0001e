"""Config: reading the effective configuration, masked secrets, sandboxed changes."""

from __future__ import annotations

import json
from collections.abc import Callable

from tests.conftest import LuaWorld


def test_get_returns_the_whole_config_and_ignores_arguments(lua: LuaWorld) -> None:
    value = lua.ok('return Config.get("tools.system.allow_process_execution")').value
    assert value["runtime"]["sandbox"] == "trusted"
    assert value["tools"]["allow_process_execution"] is True
    assert set(value) >= {"runtime", "tools", "security", "providers", "hooks", "debug"}


def test_api_keys_are_masked_everywhere(make_lua: Callable[..., LuaWorld]) -> None:
    lua = make_lua(providers={"openai": {"api_key": "sk-secret", "model": "gpt"}})
    value = lua.ok(
        "return {all = Config.get(), one = Config.getProvider('openai'), json = Config.toJson()}"
    ).value
    assert value["all"]["providers"]["openai"]["api_key"] == "***"
    assert value["one"]["api_key"] == "***"
    assert value["one"]["model"] == "gpt"
    assert "sk-secret" not in value["json"]
    assert json.loads(value["json"])["providers"]["openai"]["api_key"] == "***"


def test_sections_providers_and_engine(make_lua: Callable[..., LuaWorld]) -> None:
    lua = make_lua(providers={"ollama": {"base_url": "http://127.0.0.1:11434/v1"}})
    value = lua.ok(
        """
        return {
          tools = Config.getSection("tools"), engines = Config.getSection("engines"),
          names = Config.listProviders(), missing = Config.getProvider("nope"),
          engine = Config.getDefaultEngine(),
          file = Config.isFileAccessAllowed(), net = Config.isNetworkAccessAllowed(),
          security = Config.getSecurity(), perms = Config.getPermissions(),
        }
        """
    ).value
    assert value["tools"]["allowed_paths"] == ["/tmp"]
    assert value["engines"]["default"] == "lua"
    assert value["names"] == ["ollama"]
    assert "missing" not in value
    assert value["engine"] == "lua"
    assert (value["file"], value["net"]) == (True, True)
    assert value["security"]["sandbox"] == "trusted"
    assert value["perms"]["modify_security"] is False
    assert value["perms"]["modify_tools"] is True
    assert "did you mean 'tools'" in lua.fails('Config.getSection("tool")')


def test_add_allowed_path_and_set_provider_change_this_runtime_only(
    make_lua: Callable[..., LuaWorld],
) -> None:
    first, second = make_lua(), make_lua()
    first.ok(
        """
        Config.addAllowedPath("/srv/data")
        Config.setProvider("local-llm", {base_url = "http://127.0.0.1:8080/v1", model = "m"})
        """
    )
    assert first.runtime.config.get("tools", "allowed_paths") == ["/tmp", "/srv/data"]
    assert first.runtime.config.providers()["local-llm"]["model"] == "m"
    assert second.runtime.config.get("tools", "allowed_paths") == ["/tmp"]
    assert "local-llm" not in second.runtime.config.providers()


def test_set_provider_validates_keys_and_values(lua: LuaWorld) -> None:
    assert "unknown provider setting 'modle' (did you mean 'model'?)" in lua.fails(
        'Config.setProvider("x", {modle = "m"})'
    )
    assert "bad value for 'timeout'" in lua.fails('Config.setProvider("x", {timeout = "soon"})')


def test_set_security_is_denied_and_says_where_to_change_it(lua: LuaWorld) -> None:
    message = lua.fails("Config.setSecurity({allow_network_access = false})")
    assert message.startswith("Config.setSecurity: permission denied")
    assert "llmspell.toml" in message


def test_restricted_scripts_cannot_widen_tool_paths(make_lua: Callable[..., LuaWorld]) -> None:
    lua = make_lua(runtime={"sandbox": "restricted"})
    message = lua.fails('Config.addAllowedPath("/")')
    assert "permission denied" in message
    assert "restricted sandbox" in message
    assert lua.ok("return Config.getPermissions().modify_tools").value is False


def test_snapshot_and_restore(lua: LuaWorld) -> None:
    value = lua.ok(
        """
        local id = Config.snapshot()
        Config.addAllowedPath("/opt/x")
        local changed = #Config.getTools().allowed_paths
        local restored = Config.restoreSnapshot(id)
        return {changed = changed, restored = restored, now = #Config.getTools().allowed_paths}
        """
    ).value
    assert value == {"changed": 2, "restored": True, "now": 1}
    assert "no snapshot 12" in lua.fails("Config.restoreSnapshot(12)")
