"""Configuration layering and its errors: user file, project file, --config, profile, env, flags."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from kernel_core.config import load_config
from kernel_core.errors import ConfigError
from tests.conftest import CliResult

Cli = Callable[..., CliResult]
ROOT = Path(__file__).resolve().parent.parent


def _write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def _user_file(text: str) -> Path:
    return _write(Path(os.environ["LLMSPELL_CONFIG_DIR"]) / "config.toml", text)


def _shown(cli: Cli, *args: str, cwd: Path | None = None) -> dict[str, dict[str, object]]:
    result = cli("config", "show", "--output", "json", *args, cwd=cwd)
    assert result.returncode == 0, result.stderr
    document: dict[str, dict[str, object]] = json.loads(result.stdout)
    return document


# ---------------------------------------------------------------- layering


def test_defaults_apply_without_any_file(tmp_path: Path) -> None:
    config = load_config(project_dir=tmp_path, environ={})
    assert config.get("runtime", "sandbox") == "trusted"
    assert config.origin("runtime.sandbox") == "default"
    assert config.files == []


def test_user_file_is_read_from_the_config_dir(tmp_path: Path) -> None:
    user = _user_file("[runtime]\ntime_limit = 5\n")
    config = load_config(project_dir=tmp_path, environ={})
    assert config.get("runtime", "time_limit") == 5.0
    assert config.origin("runtime.time_limit") == str(user)
    assert config.files == [user]


def test_project_file_is_found_upward_from_the_script_and_beats_the_user_file(
    tmp_path: Path,
) -> None:
    _user_file('[runtime]\ntime_limit = 5\nsandbox = "restricted"\n')
    project = _write(tmp_path / "proj" / "llmspell.toml", "[runtime]\ntime_limit = 9\n")
    script_dir = tmp_path / "proj" / "scripts" / "deep"
    script_dir.mkdir(parents=True)
    config = load_config(project_dir=script_dir, environ={})
    assert config.get("runtime", "time_limit") == 9.0
    assert config.origin("runtime.time_limit") == str(project.resolve())
    assert config.get("runtime", "sandbox") == "restricted"


def test_explicit_config_file_beats_the_project_file(tmp_path: Path) -> None:
    _write(tmp_path / "llmspell.toml", "[runtime]\ntime_limit = 9\ninstruction_limit = 7\n")
    explicit = _write(tmp_path / "ci.toml", "[runtime]\ntime_limit = 30\n")
    config = load_config(config_file=explicit, project_dir=tmp_path, environ={})
    assert config.get("runtime", "time_limit") == 30.0
    assert config.get("runtime", "instruction_limit") == 7
    assert config.origin("runtime.time_limit") == str(explicit)


def test_llmspell_config_env_names_the_explicit_file(tmp_path: Path) -> None:
    explicit = _write(tmp_path / "env.toml", "[debug]\nlevel = 'error'\n")
    config = load_config(project_dir=tmp_path, environ={"LLMSPELL_CONFIG": str(explicit)})
    assert config.get("debug", "level") == "error"


def test_profile_beats_files_and_env_beats_profile(tmp_path: Path) -> None:
    _write(tmp_path / "llmspell.toml", '[runtime]\nsandbox = "trusted"\n[debug]\nlevel = "warn"\n')
    config = load_config(profile="restricted", project_dir=tmp_path, environ={})
    assert config.get("runtime", "sandbox") == "restricted"
    assert config.origin("runtime.sandbox") == "profile restricted"
    env = {"LLMSPELL_RUNTIME__SANDBOX": "trusted", "LLMSPELL_DEBUG__LEVEL": "error"}
    config = load_config(profile="restricted", project_dir=tmp_path, environ=env)
    assert config.get("runtime", "sandbox") == "trusted"
    assert config.origin("runtime.sandbox") == "env LLMSPELL_RUNTIME__SANDBOX"
    assert config.get("debug", "level") == "error"


def test_layered_profile_names_use_their_last_part(tmp_path: Path) -> None:
    config = load_config(profile="envs/dev,bases/cli", project_dir=tmp_path, environ={})
    assert config.get("debug", "level") == "debug"


def test_flags_beat_everything(tmp_path: Path) -> None:
    env = {"LLMSPELL_RUNTIME__TIME_LIMIT": "3"}
    config = load_config(
        project_dir=tmp_path, environ=env, overrides={"runtime": {"time_limit": "1.5"}}
    )
    assert config.get("runtime", "time_limit") == 1.5
    assert config.origin("runtime.time_limit") == "command line"


def test_env_values_are_read_as_toml_values(tmp_path: Path) -> None:
    env = {
        "LLMSPELL_RUNTIME__INSTRUCTION_LIMIT": "1000",
        "LLMSPELL_TOOLS__ALLOWED_PATHS": '["/data", "/srv"]',
        "LLMSPELL_SECURITY__ALLOW_NETWORK_ACCESS": "false",
        "LLMSPELL_RUNTIME__MODULE_PATHS": "lib,vendor",
        "LLMSPELL_PROVIDERS__LOCALAI__BASE_URL": "http://127.0.0.1:8080/v1",
    }
    config = load_config(project_dir=tmp_path, environ=env)
    assert config.get("runtime", "instruction_limit") == 1000
    assert config.get("tools", "allowed_paths") == ["/data", "/srv"]
    assert config.get("security", "allow_network_access") is False
    assert config.get("runtime", "module_paths") == ["lib", "vendor"]
    assert config.providers()["localai"]["base_url"] == "http://127.0.0.1:8080/v1"
    assert config.providers()["localai"]["timeout"] == 60.0
    assert config.origin("providers.localai.base_url") == (
        "env LLMSPELL_PROVIDERS__LOCALAI__BASE_URL"
    )


def test_directory_variables_are_not_config_overrides(tmp_path: Path) -> None:
    env = {"LLMSPELL_DATA_DIR": str(tmp_path), "LLMSPELL_VERBOSE": "1"}
    config = load_config(project_dir=tmp_path, environ=env)
    assert config.origins == {}


def test_sizes_accept_units(tmp_path: Path) -> None:
    config = load_config(
        project_dir=tmp_path, environ={}, overrides={"runtime": {"memory_limit": "64MiB"}}
    )
    assert config.get("runtime", "memory_limit") == 64 * 1024**2


def test_every_layer_is_visible_through_the_cli(cli: Cli, tmp_path: Path) -> None:
    user = _user_file("[runtime]\ntime_limit = 5\n")
    project = _write(tmp_path / "llmspell.toml", "[runtime]\ninstruction_limit = 9\n")
    explicit = _write(tmp_path / "ci.toml", "[state]\nsynchronous = 'full'\n")
    result = cli(
        "--config",
        str(explicit),
        "-p",
        "restricted",
        "config",
        "show",
        "--output",
        "json",
        env={"LLMSPELL_DEBUG__LEVEL": "error"},
    )
    assert result.returncode == 0, result.stderr
    shown = json.loads(result.stdout)
    assert shown["runtime"]["time_limit"] == {"value": 5.0, "source": str(user)}
    assert shown["runtime"]["instruction_limit"] == {"value": 9, "source": str(project)}
    assert shown["state"]["synchronous"] == {"value": "full", "source": str(explicit)}
    assert shown["runtime"]["sandbox"] == {"value": "restricted", "source": "profile restricted"}
    assert shown["debug"]["level"] == {"value": "error", "source": "env LLMSPELL_DEBUG__LEVEL"}
    assert shown["hooks"]["failure_threshold"] == {"value": 5, "source": "default"}


def test_run_flags_override_the_project_file(cli: Cli, tmp_path: Path) -> None:
    _write(tmp_path / "llmspell.toml", '[runtime]\nsandbox = "restricted"\n')
    _write(tmp_path / "s.lua", "print(pcall(os.execute, 'true'))\n")
    restricted = cli("run", "s.lua")
    assert restricted.stdout.startswith("false\t")
    trusted = cli("run", "s.lua", "--sandbox", "trusted")
    assert trusted.stdout == "true\ttrue\texit\t0\n"


def test_config_show_prints_every_value_with_its_source(cli: Cli, tmp_path: Path) -> None:
    from kernel_core.config.schema import SCHEMA

    project = _write(tmp_path / "llmspell.toml", "[runtime]\ntime_limit = 2\n")
    result = cli("config", "show")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    for name, section in SCHEMA.items():
        assert any(line.startswith(f"[{name}]") for line in lines)
        for key in section.settings:
            assert any(line.startswith(f"{key} = ") and "# " in line for line in lines), key
    assert any(
        line.startswith("time_limit = 2.0") and line.endswith(f"# {project}") for line in lines
    )
    assert any(
        line.startswith('sandbox = "trusted"') and line.endswith("# default") for line in lines
    )


def test_config_list_profiles_names_supported_and_unsupported(cli: Cli) -> None:
    result = cli("config", "list-profiles")
    assert result.returncode == 0
    assert result.stdout.startswith("minimal ")
    assert "rag-prod" in result.stdout.split("not supported", 1)[1]


def test_config_path_lists_the_files_read(cli: Cli, tmp_path: Path) -> None:
    project = _write(tmp_path / "llmspell.toml", "[runtime]\ntime_limit = 2\n")
    result = cli("config", "path")
    assert result.returncode == 0
    assert f"user file:    {Path(os.environ['LLMSPELL_CONFIG_DIR']) / 'config.toml'}  (absent)" in (
        result.stdout
    )
    assert f"read:         {project}" in result.stdout


# ---------------------------------------------------------------- errors


def _error(tmp_path: Path, text: str) -> tuple[Path, str]:
    path = _write(tmp_path / "llmspell.toml", text)
    with pytest.raises(ConfigError) as info:
        load_config(project_dir=tmp_path, environ={})
    return path.resolve(), str(info.value)


def test_unknown_section_names_the_file_and_the_nearest_section(tmp_path: Path) -> None:
    path, message = _error(tmp_path, "[runtme]\nsandbox = 'trusted'\n")
    assert message.startswith(f"{path}: unknown section '[runtme]'; did you mean 'runtime'?")


def test_unknown_key_names_the_file_the_key_and_the_nearest_key(tmp_path: Path) -> None:
    path, message = _error(tmp_path, "[runtime]\nmemory_limt = '1GiB'\n")
    assert message.startswith(
        f"{path}: unknown key 'runtime.memory_limt'; did you mean 'memory_limit'?"
    )
    assert "valid keys in [runtime]: sandbox, memory_limit" in message


def test_key_in_the_wrong_section_points_to_the_right_one(tmp_path: Path) -> None:
    _, message = _error(tmp_path, "[state]\nsandbox = 'restricted'\n")
    assert "unknown key 'state.sandbox'; did you mean 'runtime.sandbox'?" in message


def test_unknown_provider_key_names_the_provider_table(tmp_path: Path) -> None:
    path, message = _error(tmp_path, "[providers.openai]\nbase_ur = 'http://x'\n")
    assert message.startswith(
        f"{path}: unknown key 'providers.openai.base_ur'; did you mean 'base_url'?"
    )


def test_bad_value_names_the_file_the_key_and_what_would_fit(tmp_path: Path) -> None:
    path, message = _error(tmp_path, "[runtime]\nsandbox = 'open'\n")
    assert message == (
        f"{path}: bad value for 'runtime.sandbox': expected one of trusted, restricted, got 'open'"
    )
    _, message = _error(tmp_path, "[runtime]\ntime_limit = -1\n")
    assert "bad value for 'runtime.time_limit'" in message


def test_section_that_is_not_a_table_is_an_error(tmp_path: Path) -> None:
    path, message = _error(tmp_path, "runtime = 5\n")
    assert message == f"{path}: 'runtime' must be a table ([runtime])"


def test_invalid_toml_names_the_file_and_the_position(tmp_path: Path) -> None:
    path, message = _error(tmp_path, "[runtime\n")
    assert message.startswith(f"{path}: not valid TOML:")
    assert "line 1" in message


def test_missing_explicit_config_file_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"config file not found: .*nope\.toml"):
        load_config(config_file=tmp_path / "nope.toml", project_dir=tmp_path, environ={})


def test_bad_env_override_names_the_variable_and_the_nearest_key(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as info:
        load_config(project_dir=tmp_path, environ={"LLMSPELL_RUNTIME__SANDBX": "restricted"})
    assert str(info.value).startswith(
        "env LLMSPELL_RUNTIME__SANDBX: unknown key 'runtime.sandbx'; did you mean 'sandbox'?"
    )


def test_config_errors_reach_the_user_with_exit_status_2(cli: Cli, tmp_path: Path) -> None:
    path = _write(tmp_path / "llmspell.toml", "[runtime]\nsandbox = 'open'\n")
    _write(tmp_path / "s.lua", "print('never')\n")
    result = cli("run", "s.lua")
    assert result.returncode == 2
    assert result.stdout == ""
    assert result.stderr.strip() == (
        f"llmspell: {path}: bad value for 'runtime.sandbox': expected one of trusted, "
        "restricted, got 'open'"
    )


# ---------------------------------------------------------------- docs


def test_committed_config_docs_match_the_schema() -> None:
    proc = subprocess.run(
        [sys.executable, str(ROOT / "docs" / "gen_config_doc.py"), "--check"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr


def test_config_docs_document_every_key_and_profile() -> None:
    from kernel_core.config.profiles import PROFILES
    from kernel_core.config.schema import SCHEMA

    text = (ROOT / "docs" / "config.md").read_text(encoding="utf-8")
    for name, section in SCHEMA.items():
        assert f"### [{name}]" in text
        for key in [*section.settings, *(section.dynamic or {})]:
            assert f"| `{key}` |" in text, f"{name}.{key}"
    for profile in PROFILES:
        assert f"| `{profile}` |" in text


def test_counts_and_sizes_may_be_written_with_exponents_and_underscores(tmp_path: Path) -> None:
    _write(
        tmp_path / "llmspell.toml",
        '[runtime]\ninstruction_limit = 1e8\nmemory_limit = "64_000KiB"\n'
        '[hooks]\nfailure_threshold = "1_0"\n',
    )
    config = load_config(project_dir=tmp_path)
    assert config.get("runtime", "instruction_limit") == 100_000_000
    assert config.get("runtime", "memory_limit") == 64_000 * 1024
    assert config.get("hooks", "failure_threshold") == 10
