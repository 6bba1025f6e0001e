"""Layered configuration: defaults, user file, project file, --config, profile, env, flags.

Every value remembers where it came from, so ``llmspell config show`` can say so, and every
unknown key or bad value is a ConfigError naming the file, the key and the nearest valid key.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kernel_core.config.profiles import PROFILES, UNSUPPORTED_PROFILES
from kernel_core.config.schema import SCHEMA, Setting, SettingValueError, all_keys
from kernel_core.errors import ConfigError
from kernel_core.paths import user_config_file

log = logging.getLogger(__name__)

ENV_PREFIX = "LLMSPELL_"
PROJECT_FILE = "llmspell.toml"
# Environment variables with this prefix that are not config overrides, and what they do.
NOT_CONFIG_ENV: dict[str, str] = {
    "LLMSPELL_CONFIG": "a config file read like --config FILE",
    "LLMSPELL_CONFIG_DIR": "the directory holding the user file config.toml",
    "LLMSPELL_DATA_DIR": "the user data directory (State's database by default)",
    "LLMSPELL_RUNTIME_DIR": (
        "the directory for kernel connection files and sockets: yours and not group- or "
        "world-writable (refused otherwise, never chmod-ed), created 0700 if missing; "
        "default $XDG_RUNTIME_DIR/llmspell, else /run/user/UID/llmspell, else DATA_DIR/runtime"
    ),
    "LLMSPELL_TOOLS_ALLOWED_PATHS": "LLMSpell's name for [tools] allowed_paths, comma-separated",
}


@dataclass
class Config:
    """The merged configuration. ``values[section][key]``; providers nest one level deeper."""

    values: dict[str, dict[str, Any]]
    origins: dict[str, str] = field(default_factory=dict)
    files: list[Path] = field(default_factory=list)

    def get(self, section: str, key: str) -> Any:
        """The value of ``section.key``."""
        return self.values[section][key]

    def section(self, name: str) -> dict[str, Any]:
        """A copy of one section."""
        return dict(self.values[name])

    def providers(self) -> dict[str, dict[str, Any]]:
        """The configured ``[providers.NAME]`` tables, defaults filled in."""
        return {k: dict(v) for k, v in self.values["providers"].items() if isinstance(v, dict)}

    def origin(self, dotted: str) -> str:
        """Where ``section.key`` (or ``providers.NAME.key``) was set."""
        return self.origins.get(dotted, "default")

    def as_dict(self) -> dict[str, Any]:
        """A deep copy as plain data."""
        return {
            s: {k: (dict(v) if isinstance(v, dict) else v) for k, v in sec.items()}
            for s, sec in self.values.items()
        }


def _nearest(name: str, candidates: list[str]) -> str:
    import difflib  # only errors need it; keep `llmspell run` start-up lean

    match = difflib.get_close_matches(name, candidates, n=1, cutoff=0.5)
    return f"; did you mean '{match[0]}'?" if match else ""


def _defaults() -> dict[str, dict[str, Any]]:
    return {
        name: {k: _copy(s.default) for k, s in sec.settings.items()} for name, sec in SCHEMA.items()
    }


def _copy(value: Any) -> Any:
    return list(value) if isinstance(value, list) else value


def _parse_setting(setting: Setting, value: Any, where: str, dotted: str) -> Any:
    try:
        return setting.parse(value)
    except SettingValueError as exc:
        raise ConfigError(f"{where}: bad value for '{dotted}': {exc}") from None


def _apply_table(config: Config, table: Mapping[str, Any], where: str) -> None:
    """Merge one parsed TOML document (or profile) into ``config``, validating it."""
    sections = list(SCHEMA)
    for section_name, body in table.items():
        if section_name not in SCHEMA:
            raise ConfigError(
                f"{where}: unknown section '[{section_name}]'{_nearest(section_name, sections)}"
                f" (sections: {', '.join(sections)})"
            )
        if not isinstance(body, Mapping):
            raise ConfigError(f"{where}: '{section_name}' must be a table ([{section_name}])")
        section = SCHEMA[section_name]
        for key, value in body.items():
            dotted = f"{section_name}.{key}"
            if key in section.settings:
                config.values[section_name][key] = _parse_setting(
                    section.settings[key], value, where, dotted
                )
                config.origins[dotted] = where
            elif section.dynamic is not None and isinstance(value, Mapping):
                _apply_dynamic(config, section_name, key, value, where)
            else:
                valid = list(section.settings) + (list(section.dynamic) if section.dynamic else [])
                hint = _nearest(key, valid) or _nearest(dotted, all_keys())
                raise ConfigError(
                    f"{where}: unknown key '{dotted}'{hint}"
                    f" (valid keys in [{section_name}]: {', '.join(section.settings)})"
                )


def _apply_dynamic(
    config: Config, section_name: str, name: str, body: Mapping[str, Any], where: str
) -> None:
    dynamic = SCHEMA[section_name].dynamic
    assert dynamic is not None
    entry = config.values[section_name].get(name)
    if not isinstance(entry, dict):
        entry = {k: _copy(s.default) for k, s in dynamic.items()}
        config.values[section_name][name] = entry
    for key, value in body.items():
        dotted = f"{section_name}.{name}.{key}"
        if key not in dynamic:
            raise ConfigError(
                f"{where}: unknown key '{dotted}'{_nearest(key, list(dynamic))}"
                f" (valid keys in [{section_name}.{name}]: {', '.join(dynamic)})"
            )
        entry[key] = _parse_setting(dynamic[key], value, where, dotted)
        config.origins[dotted] = where


def _read_toml(path: Path) -> dict[str, Any]:
    import tomllib

    try:
        with path.open("rb") as fh:
            return tomllib.load(fh)
    except FileNotFoundError:
        raise ConfigError(f"config file not found: {path}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read: {exc.strerror}") from None


def _env_value(raw: str) -> Any:
    """An env value as TOML would read it (numbers, booleans, arrays), else the string."""
    import tomllib

    try:
        return tomllib.loads(f"v = {raw}")["v"]
    except tomllib.TOMLDecodeError:
        return raw


def _apply_env(config: Config, environ: Mapping[str, str]) -> None:
    for name, raw in sorted(environ.items()):
        if not name.startswith(ENV_PREFIX) or name in NOT_CONFIG_ENV:
            continue
        parts = name[len(ENV_PREFIX) :].lower().split("__")
        where = f"env {name}"
        if len(parts) < 2:
            continue  # LLMSPELL_SOMETHING without a section: not a config override
        value = _env_value(raw)
        table: dict[str, Any] = {parts[-1]: value}
        for part in reversed(parts[:-1]):
            table = {part: table}
        _apply_table(config, table, where)
    legacy = environ.get("LLMSPELL_TOOLS_ALLOWED_PATHS")
    if legacy:
        _apply_table(
            config, {"tools": {"allowed_paths": legacy}}, "env LLMSPELL_TOOLS_ALLOWED_PATHS"
        )


def discover_project_file(start: Path) -> Path | None:
    """The nearest ``llmspell.toml`` in ``start`` or a parent directory."""
    current = start.resolve()
    for directory in (current, *current.parents):
        candidate = directory / PROJECT_FILE
        if candidate.is_file():
            return candidate
    return None


def load_config(
    *,
    config_file: str | os.PathLike[str] | None = None,
    profile: str | None = None,
    project_dir: Path | None = None,
    environ: Mapping[str, str] | None = None,
    overrides: Mapping[str, Mapping[str, Any]] | None = None,
) -> Config:
    """Merge every layer, lowest first: defaults, user file, project file, ``--config``,
    ``--profile``, environment variables, then command-line ``overrides``."""
    env = os.environ if environ is None else environ
    config = Config(_defaults())
    user_file = user_config_file()
    if user_file.is_file():
        _apply_table(config, _read_toml(user_file), str(user_file))
        config.files.append(user_file)
    project = discover_project_file(project_dir or Path.cwd())
    if project is not None:
        _apply_table(config, _read_toml(project), str(project))
        config.files.append(project)
    explicit = config_file or env.get("LLMSPELL_CONFIG")
    if explicit:
        path = Path(explicit).expanduser()
        _apply_table(config, _read_toml(path), str(path))
        config.files.append(path)
    if profile:
        for layer in profile.split(","):
            _apply_table(config, profile_table(layer.strip()), f"profile {layer.strip()}")
    _apply_env(config, env)
    if overrides:
        _apply_table(config, overrides, "command line")
    return config


def profile_table(name: str) -> dict[str, Any]:
    """The settings of a built-in profile; layered names use their last path part."""
    short = name.rsplit("/", 1)[-1]
    if short in PROFILES:
        return PROFILES[short].settings
    if short in UNSUPPORTED_PROFILES:
        raise ConfigError(
            f"profile '{name}' needs {UNSUPPORTED_PROFILES[short]}, which llmspell does not "
            f"support; available profiles: {', '.join(PROFILES)}"
        )
    raise ConfigError(
        f"unknown profile '{name}'{_nearest(short, list(PROFILES))}; "
        f"available profiles: {', '.join(PROFILES)} (llmspell config list-profiles)"
    )
