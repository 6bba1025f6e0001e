"""``llmspell config show|list-profiles|path``."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from kernel_core.config.loader import PROJECT_FILE
from kernel_core.config.profiles import PROFILES, UNSUPPORTED_PROFILES
from kernel_core.config.schema import SCHEMA
from kernel_core.paths import user_config_file
from llmspell_tui.commands.common import config_from_args


def _render(value: Any) -> str:
    import json

    return json.dumps(value)


def _print_setting(key: str, value: Any, origin: str) -> None:
    # one column for the source, so a long value pushes only its own comment right
    print(f"{f'{key} = {_render(value)}':<44} # {origin}")


def main(args: argparse.Namespace) -> int:
    """Print what was asked."""
    if args.action == "list-profiles":
        for name, profile in PROFILES.items():
            print(f"{name:<12} {profile.description}")
        print()
        print("not supported (need subsystems llmspell does not ship):")
        for name, why in UNSUPPORTED_PROFILES.items():
            print(f"  {name:<18} needs {why}")
        return 0
    config = config_from_args(args)
    if args.action == "path":
        print(
            f"user file:    {user_config_file()}"
            f"{'' if user_config_file().is_file() else '  (absent)'}"
        )
        print(f"project file: nearest {PROJECT_FILE} from the current directory")
        for path in config.files:
            print(f"read:         {path}")
        return 0
    if args.output in ("json", "pretty"):
        import json

        document = {
            section: {
                key: {"value": value, "source": config.origin(f"{section}.{key}")}
                if not isinstance(value, dict)
                else {
                    k: {"value": v, "source": config.origin(f"{section}.{key}.{k}")}
                    for k, v in value.items()
                }
                for key, value in values.items()
            }
            for section, values in config.values.items()
        }
        json.dump(document, sys.stdout, indent=2 if args.output == "pretty" else None)
        print()
        return 0
    for section, values in config.values.items():
        print(f"[{section}]  # {SCHEMA[section].doc}")
        for key, value in values.items():
            if isinstance(value, dict):
                continue
            _print_setting(key, value, config.origin(f"{section}.{key}"))
        for key, value in values.items():
            if isinstance(value, dict):
                print(f"[{section}.{key}]")
                for k, v in value.items():
                    _print_setting(k, v, config.origin(f"{section}.{key}.{k}"))
        print()
    return 0
