"""Every configuration key llmspell knows: its type, default and meaning.

The schema is data so that `llmspell config show`, validation, the "did you mean" on an
unknown key and docs/config.md all come from one place.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any


class SettingValueError(ValueError):
    """A value does not fit its setting; the message says what would."""


# How a number may be written in a flag, a variable or a file, as the docs write them:
# 100000000, 100_000_000, 1e8, 2.5e3 (Python's and TOML's underscores and exponents)
_NUMBER = r"\d(?:_?\d)*(?:\.\d(?:_?\d)*)?(?:[eE][+-]?\d+)?"


def _whole(number: float, value: Any) -> int:
    if not number.is_integer():
        raise SettingValueError(f"expected a whole number such as 1000 or 1e8, got {value!r}")
    return int(number)


def _size(value: Any) -> int:
    """Bytes from an int or a string like ``"512MiB"``, ``"2 GB"``, ``"1e6"``, ``"0"`` (no
    limit)."""
    if isinstance(value, bool):
        raise SettingValueError("expected a size such as 512MiB or a number of bytes")
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, int):
        if value < 0:
            raise SettingValueError("a size cannot be negative")
        return value
    if isinstance(value, str):
        m = re.fullmatch(rf"\s*({_NUMBER})\s*([KMGT]?i?B?)?\s*", value, re.IGNORECASE)
        if m:
            number = float(m.group(1))
            unit = (m.group(2) or "").upper().rstrip("B").rstrip("I")
            scale = {"": 1, "K": 1024, "M": 1024**2, "G": 1024**3, "T": 1024**4}[unit]
            return int(number * scale)
    raise SettingValueError(f"expected a size such as 512MiB or a number of bytes, got {value!r}")


def _int(value: Any) -> int:
    """A whole number from an int, an integral float (TOML's ``1e8``) or a string written
    as the docs write counts: ``100000000``, ``100_000_000``, ``1e8``, ``-1``."""
    if isinstance(value, bool):
        raise SettingValueError(f"expected a whole number such as 1000 or 1e8, got {value!r}")
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        return _whole(value, value)
    if isinstance(value, str) and re.fullmatch(rf"\s*[+-]?{_NUMBER}\s*", value):
        text = value.strip().replace("_", "")
        try:
            return int(text)
        except ValueError:
            return _whole(float(text), value)
    raise SettingValueError(f"expected a whole number such as 1000 or 1e8, got {value!r}")


whole_number = _int  # for the CLI's count flags, which read numbers as the settings do


def _non_negative_int(value: Any) -> int:
    number = _int(value)
    if number < 0:
        raise SettingValueError(f"expected 0 or more, got {number}")
    return number


def _positive_int(value: Any) -> int:
    number = _int(value)
    if number < 1:
        raise SettingValueError(f"expected 1 or more, got {number}")
    return number


def _float(value: Any) -> float:
    if isinstance(value, bool):
        raise SettingValueError(f"expected a number, got {value!r}")
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            pass
    raise SettingValueError(f"expected a number, got {value!r}")


def _seconds(value: Any) -> float:
    number = _float(value)
    if number < 0:
        raise SettingValueError(f"expected 0 (no limit) or more seconds, got {number}")
    return number


def _rate(value: Any) -> float:
    number = _float(value)
    if not 1 <= number <= 20000:
        raise SettingValueError(f"expected a sampling rate from 1 to 20000 Hz, got {number:g}")
    return number


def _bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in {"true", "false", "1", "0", "yes", "no"}:
        return value.lower() in {"true", "1", "yes"}
    raise SettingValueError(f"expected true or false, got {value!r}")


def _str(value: Any) -> str:
    if isinstance(value, str):
        return value
    raise SettingValueError(f"expected a string, got {value!r}")


def _str_list(value: Any) -> list[str]:
    if isinstance(value, str):
        return [part for part in (p.strip() for p in value.split(",")) if part]
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return list(value)
    raise SettingValueError(f"expected a list of strings, got {value!r}")


def _choice(*choices: str) -> Callable[[Any], str]:
    def parse(value: Any) -> str:
        text = _str(value).lower()
        if text not in choices:
            raise SettingValueError(f"expected one of {', '.join(choices)}, got {value!r}")
        return text

    parse.choices = choices  # type: ignore[attr-defined]
    return parse


@dataclass(frozen=True)
class Setting:
    """One configuration key."""

    default: Any
    parse: Callable[[Any], Any]
    doc: str
    type_name: str = "string"


@dataclass(frozen=True)
class Section:
    """A ``[section]``; ``dynamic`` sections hold named sub-tables (``[providers.NAME]``)."""

    doc: str
    settings: dict[str, Setting]
    dynamic: dict[str, Setting] | None = None
    dynamic_doc: str = ""
    children: dict[str, Section] = field(default_factory=dict)


LOG_LEVELS = ("off", "error", "warn", "info", "debug", "trace")

SCHEMA: dict[str, Section] = {
    "runtime": Section(
        "How scripts run: sandbox and resource limits.",
        {
            "sandbox": Setting(
                "trusted",
                _choice("trusted", "restricted"),
                "trusted = full Lua standard library; restricted = no os.execute, io.popen, "
                "package.loadlib or binary chunks, and files only under allowed_paths.",
                "trusted|restricted",
            ),
            "memory_limit": Setting(
                1024**3,
                _size,
                "Cap on the Lua heap (e.g. 512MiB); 0 = no cap. A run that reaches 90% of it "
                "is stopped with `limit exceeded: memory limit of N MiB exceeded`, its location "
                "and traceback (see below); the host is never killed.",
                "size",
            ),
            "time_limit": Setting(
                0.0, _seconds, "Wall-clock budget for one run in seconds; 0 = none.", "seconds"
            ),
            "instruction_limit": Setting(
                0,
                _non_negative_int,
                "Budget of Lua VM instructions for one run; 0 = none. Costs about 2x while on.",
                "integer",
            ),
            "allowed_paths": Setting(
                [],
                _str_list,
                "Extra directories a restricted script may read and write (the script's own "
                "directory and the temp directory are always allowed).",
                "list of paths",
            ),
            "module_paths": Setting(
                [],
                _str_list,
                "Extra directories searched by require (after the script's directory).",
                "list of paths",
            ),
        },
    ),
    "state": Section(
        "Where State persists.",
        {
            "path": Setting(
                "",
                _str,
                "SQLite file for State; empty = state.sqlite3 in the user data directory; "
                "':memory:' keeps State for one run only.",
                "path",
            ),
            "synchronous": Setting(
                "normal",
                _choice("normal", "full"),
                "SQLite synchronous mode: normal survives a killed process, full also a "
                "power cut (slower).",
                "normal|full",
            ),
        },
    ),
    "hooks": Section(
        "Circuit breakers guarding every registered Hook.",
        {
            "failure_threshold": Setting(
                5, _non_negative_int, "Consecutive errors that open a hook's breaker.", "integer"
            ),
            "slow_call_ms": Setting(
                100.0, _float, "A hook call slower than this counts as a slow call.", "ms"
            ),
            "slow_threshold": Setting(
                3, _non_negative_int, "Consecutive slow calls that open the breaker.", "integer"
            ),
            "cooldown_ms": Setting(
                30000.0,
                _float,
                "How long an open breaker skips its hook before a half-open probe.",
                "ms",
            ),
        },
    ),
    "providers": Section(
        "LLM providers. Agents whose provider has no endpoint configured use the "
        "deterministic local provider, so scripts run offline.",
        {
            "default": Setting(
                "local", _str, "Provider used when a model names none.", "provider name"
            ),
        },
        dynamic={
            "type": Setting(
                "openai",
                _choice("openai", "local"),
                "openai = any OpenAI-compatible chat-completions endpoint.",
                "openai|local",
            ),
            "base_url": Setting("", _str, "Endpoint, e.g. http://127.0.0.1:8080/v1.", "url"),
            "api_key": Setting("", _str, "API key (prefer api_key_env).", "string"),
            "api_key_env": Setting(
                "", _str, "Name of the environment variable holding the key.", "string"
            ),
            "model": Setting("", _str, "Default model for this provider.", "string"),
            "timeout": Setting(60.0, _seconds, "Request timeout in seconds.", "seconds"),
        },
        dynamic_doc="[providers.NAME] configures the provider called NAME (openai, ollama, ...).",
    ),
    "tools": Section(
        "Built-in tools.",
        {
            "allowed_paths": Setting(
                ["/tmp"],
                _str_list,
                "Directories file tools (file-operations, file-search, ...) may touch; '*' = any.",
                "list of paths",
            ),
            "max_file_size": Setting(
                50_000_000, _size, "Largest file a file tool reads or writes.", "size"
            ),
            "allow_process_execution": Setting(
                True, _bool, "Whether process-executor may run its allowed commands.", "bool"
            ),
        },
    ),
    "security": Section(
        "What Config.isFileAccessAllowed()/isNetworkAccessAllowed() report to scripts.",
        {
            "allow_file_access": Setting(True, _bool, "Scripts may access files.", "bool"),
            "allow_network_access": Setting(True, _bool, "Scripts may use the network.", "bool"),
        },
    ),
    "debug": Section(
        "The Debug global.",
        {
            "level": Setting(
                "info",
                _choice(*LOG_LEVELS, "warning", "none", "err"),
                "Lowest Debug.log level shown.",
                "|".join(LOG_LEVELS),
            ),
            "enabled": Setting(True, _bool, "Whether Debug logging prints at all.", "bool"),
        },
    ),
    "kernel": Section(
        "The kernel service.",
        {
            "transport": Setting(
                "ipc", _choice("ipc", "tcp"), "ipc = Unix sockets; tcp = TCP ports.", "ipc|tcp"
            ),
            "ip": Setting("127.0.0.1", _str, "Address to bind with tcp.", "address"),
            "max_message_size": Setting(
                64 * 1024**2, _size, "Largest message a client may send.", "size"
            ),
            "log_max_size": Setting(
                10 * 1024**2,
                _size,
                "Size at which the kernel log is rotated (kernel-ID.log.1, .2 keep the rest).",
                "size",
            ),
            "pause_when_last_client_leaves": Setting(
                False,
                _bool,
                "Keep a paused script paused when the last debugging client disconnects "
                "(false = resume it).",
                "bool",
            ),
        },
    ),
    "profiler": Section(
        "The profiler (llmspell profile, the TUI's Flamegraph pane, DAP llmspell/profileStart).",
        {
            "rate": Setting(
                1000,
                _rate,
                "Samples per second of wall-clock time in sampling mode (1 to 20000).",
                "Hz",
            ),
            "mode": Setting(
                "sampling",
                _choice("sampling", "exact"),
                "sampling = a timer-armed hook records stacks (1 to 4% overhead); exact = "
                "call/return hooks count every call and time it (about 2.6 µs per call: up to 220 "
                "times slower on code made of small calls).",
                "sampling|exact",
            ),
            "event_interval": Setting(
                1.0,
                _seconds,
                "Seconds between llmspell/profile events to debugging clients during a run "
                "(0 = only when a run ends).",
                "seconds",
            ),
        },
    ),
    "tui": Section(
        "The terminal UI (llmspell tui).",
        {
            "theme": Setting(
                "dark",
                _str,
                "Colour theme: the name of a file in themes/ (dark, light). --theme overrides "
                "it; set here, it also wins over the theme last picked in the TUI.",
                "dark|light",
            ),
            "scrollback": Setting(
                10_000,
                _positive_int,
                "Lines of output the console keeps; older ones scroll away. Output that comes "
                "faster than the screen can show keeps only its newest lines, and the console "
                "says how many it left out.",
                "lines",
            ),
        },
    ),
}


def all_keys() -> list[str]:
    """Every fully qualified key, ``section.key``; dynamic ones as ``section.NAME.key``."""
    keys: list[str] = []
    for name, section in SCHEMA.items():
        keys.extend(f"{name}.{key}" for key in section.settings)
        if section.dynamic:
            keys.extend(f"{name}.NAME.{key}" for key in section.dynamic)
    return keys
