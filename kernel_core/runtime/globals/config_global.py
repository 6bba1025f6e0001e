"""The ``Config`` global: the effective configuration, read by scripts, changed only where
the sandbox allows.

The runtime gets its own copy of the configuration here (before Tool, Provider and Agent
are installed), so ``Config.addAllowedPath`` and ``Config.setProvider`` change this Lua
world only, never the file or another runtime. Secrets are never shown: ``api_key`` and
other secret-looking values read as ``"***"``.
"""

from __future__ import annotations

import copy
import difflib
import logging
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kernel_core.config import Config
from kernel_core.config.schema import SCHEMA, SettingValueError
from kernel_core.runtime.errors import ScriptError

if TYPE_CHECKING:
    from kernel_core.runtime.script_runtime import ScriptRuntime

log = logging.getLogger(__name__)

MASK = "***"
_SECRET_WORDS = ("api_key", "secret", "token", "password")
ENGINES = {"default": "lua", "lua": {"version": "5.4"}}


def _is_secret(key: str) -> bool:
    lowered = key.lower()
    return not lowered.endswith("_env") and any(w in lowered for w in _SECRET_WORDS)


def masked(data: Any) -> Any:
    """A copy of config data with every non-empty secret value replaced by ``***``."""
    if isinstance(data, dict):
        return {k: (MASK if _is_secret(k) and v else masked(v)) for k, v in data.items()}
    if isinstance(data, list):
        return [masked(v) for v in data]
    return data


def _lua_type(value: Any) -> str:
    if value is None:
        return "no value"
    from lupa.lua54 import lua_type

    return lua_type(value) or {bool: "boolean", str: "string"}.get(type(value), "number")


def _nearest(name: str, candidates: list[str]) -> str:
    match = difflib.get_close_matches(name, candidates, n=1, cutoff=0.5)
    return f" (did you mean '{match[0]}'?)" if match else ""


class ConfigGlobal:
    """The Python side of ``Config`` for one runtime."""

    def __init__(self, runtime: ScriptRuntime) -> None:
        self.runtime = runtime
        self.config: Config = runtime.config
        self.trusted = runtime.sandbox_level == "trusted"
        self._snapshots: dict[int, dict[str, Any]] = {}
        self._last_snapshot = 0

    # ---------------------------------------------------------------- reading

    def everything(self, *_ignored: Any) -> dict[str, Any]:
        """``Config.get()``: the whole configuration (arguments are ignored, as in LLMSpell)."""
        data: dict[str, Any] = masked(self.config.as_dict())
        return data

    def section(self, name: Any) -> Any:
        if not isinstance(name, str):
            raise ScriptError(
                f"bad argument #1 to 'Config.getSection' (string expected, got {_lua_type(name)})"
            )
        if name == "engines":
            return copy.deepcopy(ENGINES)
        if name not in self.config.values:
            known = [*self.config.values, "engines"]
            raise ScriptError(
                f"unknown config section '{name}'{_nearest(name, known)}; sections are "
                f"{', '.join(sorted(known))}"
            )
        return masked(self.config.as_dict()[name])

    def provider(self, name: Any) -> Any:
        providers = self.config.providers()
        if not isinstance(name, str | int | float) or str(name) not in providers:
            return None
        return masked(providers[str(name)])

    def provider_names(self) -> Any:
        return self.runtime.api.array(self.runtime.to_lua(sorted(self.config.providers())))

    def security(self) -> dict[str, Any]:
        return {
            **self.config.section("security"),
            "sandbox": self.runtime.sandbox_level,
            "allow_process_execution": self.config.get("tools", "allow_process_execution"),
            "allowed_paths": list(self.config.get("runtime", "allowed_paths")),
        }

    def tools(self) -> dict[str, Any]:
        data: dict[str, Any] = masked(self.config.as_dict()["tools"])
        return data

    def permissions(self) -> dict[str, bool]:
        return {
            "read": True,
            "modify_providers": self.trusted,
            "modify_tools": self.trusted,
            "modify_runtime": False,
            "modify_security": False,
            "access_secrets": False,
        }

    def file_access(self) -> bool:
        return bool(self.config.get("security", "allow_file_access"))

    def network_access(self) -> bool:
        return bool(self.config.get("security", "allow_network_access"))

    def to_json(self) -> str:
        import json

        return json.dumps(self.everything(), sort_keys=True, separators=(",", ":"))

    # ---------------------------------------------------------------- changing

    def _require_trusted(self, fname: str, what: str) -> None:
        if not self.trusted:
            raise ScriptError(
                f"{fname}: permission denied: a script in the restricted sandbox cannot change "
                f'{what}; set it in llmspell.toml, or set [runtime] sandbox = "trusted"'
            )

    def add_allowed_path(self, path: Any) -> bool:
        if not isinstance(path, str | int | float) or isinstance(path, bool):
            raise ScriptError(
                "bad argument #1 to 'Config.addAllowedPath' "
                f"(string expected, got {_lua_type(path)})"
            )
        self._require_trusted("Config.addAllowedPath", "[tools] allowed_paths")
        text = str(Path(str(path)).expanduser())
        paths = self.config.values["tools"]["allowed_paths"]
        if text not in paths:
            paths.append(text)
        return True

    def set_provider(self, name: Any, table: Any) -> bool:
        if not isinstance(name, str) or not name:
            raise ScriptError(
                f"bad argument #1 to 'Config.setProvider' (string expected, got {_lua_type(name)})"
            )
        data = self.runtime.from_lua(table, what="Config.setProvider settings")
        if not isinstance(data, dict):
            raise ScriptError(
                "bad argument #2 to 'Config.setProvider' (table of provider settings expected, "
                f"got {_lua_type(table)})"
            )
        self._require_trusted("Config.setProvider", "providers")
        dynamic = SCHEMA["providers"].dynamic or {}
        current = self.config.providers().get(name) or {
            k: copy.deepcopy(s.default) for k, s in dynamic.items()
        }
        for key, value in data.items():
            setting = dynamic.get(key)
            if setting is None:
                raise ScriptError(
                    f"Config.setProvider: unknown provider setting '{key}'"
                    f"{_nearest(key, list(dynamic))}; settings are {', '.join(dynamic)}"
                )
            try:
                current[key] = setting.parse(value)
            except SettingValueError as exc:
                raise ScriptError(f"Config.setProvider: bad value for '{key}': {exc}") from None
        self.config.values["providers"][name] = current
        return True

    def set_security(self, *_args: Any) -> bool:
        raise ScriptError(
            "Config.setSecurity: permission denied: scripts cannot change security settings; "
            "set [security] allow_file_access / allow_network_access in llmspell.toml "
            "(or LLMSPELL_SECURITY__ALLOW_FILE_ACCESS=false in the environment)"
        )

    def snapshot(self) -> int:
        """Save the configuration; returns its id, a millisecond timestamp (unique)."""
        snapshot_id = max(int(time.time() * 1000), self._last_snapshot + 1)
        self._last_snapshot = snapshot_id
        self._snapshots[snapshot_id] = copy.deepcopy(self.config.values)
        return snapshot_id

    def restore(self, snapshot_id: Any) -> bool:
        saved = None
        if isinstance(snapshot_id, int | float) and not isinstance(snapshot_id, bool):
            saved = self._snapshots.get(int(snapshot_id))
        if saved is None:
            raise ScriptError(
                f"Config.restoreSnapshot: no snapshot {snapshot_id!s} "
                "(pass the id Config.snapshot() returned)"
            )
        # in place: the tools and providers hold this Config object
        self.config.values.clear()
        self.config.values.update(copy.deepcopy(saved))
        return True


def install(runtime: ScriptRuntime) -> None:
    """Give the runtime its own configuration copy and define ``Config``."""
    original = runtime.config
    runtime.config = Config(
        values=copy.deepcopy(original.values),
        origins=dict(original.origins),
        files=list(original.files),
    )
    impl = ConfigGlobal(runtime)
    functions: dict[str, Callable[..., Any]] = {
        "get": impl.everything,
        "getSection": impl.section,
        "getProvider": impl.provider,
        "listProviders": impl.provider_names,
        "getDefaultEngine": lambda: "lua",
        "getSecurity": impl.security,
        "getTools": impl.tools,
        "getPermissions": impl.permissions,
        "isFileAccessAllowed": impl.file_access,
        "isNetworkAccessAllowed": impl.network_access,
        "addAllowedPath": impl.add_allowed_path,
        "setProvider": impl.set_provider,
        "setSecurity": impl.set_security,
        "snapshot": impl.snapshot,
        "restoreSnapshot": impl.restore,
        "toJson": impl.to_json,
    }
    table = runtime.lua.table()
    for name, fn in functions.items():
        table[name] = runtime.host_function(f"Config.{name}", fn)
    runtime.set_global("Config", table)
