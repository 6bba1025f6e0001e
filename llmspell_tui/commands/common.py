"""What several commands share: loading the configuration from the global flags."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from kernel_core.config import Config, load_config
from kernel_core.errors import UsageError


def limit_overrides(args: argparse.Namespace) -> dict[str, dict[str, Any]]:
    """``[runtime]`` overrides from --sandbox/--memory-limit/--time-limit/--instruction-limit."""
    runtime: dict[str, Any] = {}
    for flag, key in (
        ("sandbox", "sandbox"),
        ("memory_limit", "memory_limit"),
        ("time_limit", "time_limit"),
        ("instruction_limit", "instruction_limit"),
    ):
        value = getattr(args, flag, None)
        if value is not None:
            runtime[key] = value
    return {"runtime": runtime} if runtime else {}


def config_from_args(args: argparse.Namespace, project_dir: Path | None = None) -> Config:
    """The merged configuration for a command."""
    engine = getattr(args, "engine", "lua")
    if engine and engine.lower() != "lua":
        raise UsageError(f"engine '{engine}' is not supported: only Lua is (--engine lua)")
    return load_config(
        config_file=getattr(args, "config", None),
        profile=getattr(args, "profile", None),
        project_dir=project_dir,
        overrides=limit_overrides(args),
    )
