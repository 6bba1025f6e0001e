"""The ``llmspell`` command line: argument parsing and dispatch to ``commands/``.

Kept thin and cheap to import: ``llmspell run`` must reach the script's first output line
fast, so nothing heavy (textual, asyncio, zmq) is imported here.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys
from collections.abc import Callable, Sequence

from kernel_core import __version__
from kernel_core.errors import LlmspellError

Handler = Callable[[argparse.Namespace], int]

MAIN_EPILOG = """\
examples:
  llmspell run examples/quickstart.lua            run a script
  llmspell run script.lua -- --topic lua 3        pass arguments (ARGS.topic, ARGS[1])
  llmspell -p minimal run script.lua              use a built-in profile
  llmspell exec 'print(JSON.stringify({1, 2}))'   run a snippet
  llmspell profile script.lua                     flamegraph of a run (script.profile.svg)
  llmspell config show                            the merged configuration and its sources

Run 'llmspell COMMAND --help' for a command's options and examples.
"""

RUN_EPILOG = """\
examples:
  llmspell run examples/quickstart.lua
  llmspell run script.lua -- --input data.json --verbose
  llmspell run script.lua --sandbox restricted --memory-limit 64MiB --time-limit 10
  llmspell run script.lua --output json           one JSON object: result, output, error

Exit status: 0 success, 1 script error or limit exceeded, 130 interrupted (Ctrl+C),
or the code the script passed to os.exit.
"""

EXEC_EPILOG = """\
examples:
  llmspell exec 'print(1 + 1)'
  llmspell exec 'return 1 + 1'                     shows 2: returned values as the REPL shows them
  llmspell exec 'return Tool.list()' --output json
"""

CONFIG_EPILOG = """\
examples:
  llmspell config show                 every setting, its value and where it came from
  llmspell config show --output json   the same as JSON
  llmspell config list-profiles        the built-in profiles (-p NAME)
  llmspell config path                 the files llmspell reads
"""

ENGINE_HELP = "script engine; only 'lua' is supported"


def _add_global_flags(parser: argparse.ArgumentParser, *, suppress: bool) -> None:
    default = argparse.SUPPRESS if suppress else None
    parser.add_argument(
        "-c", "--config", metavar="FILE", default=default, help="configuration file (TOML)"
    )
    parser.add_argument(
        "-p",
        "--profile",
        metavar="NAME",
        default=default,
        help="built-in configuration profile (see 'llmspell config list-profiles')",
    )
    parser.add_argument(
        "--trace",
        choices=["off", "error", "warn", "info", "debug", "trace"],
        default=default if suppress else "warn",
        help="log level for llmspell itself",
    )
    parser.add_argument(
        "--output",
        choices=["text", "json", "pretty"],
        default=default if suppress else "text",
        help="output format",
    )


# Commands defined here; every other command's parser lives in its own module.
CORE_COMMANDS = ("run", "exec", "config")


def build_parser(argv: Sequence[str] | None = None) -> argparse.ArgumentParser:
    """The argument parser: complete without ``argv``; for ``argv`` naming a command, with
    that command's parser only: the other commands' modules cost import time (``llmspell
    run`` must start fast, ``kernel start`` too)."""
    parser = argparse.ArgumentParser(
        prog="llmspell",
        description="Run, debug and profile LLMSpell Lua scripts.",
        epilog=MAIN_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"llmspell {__version__}")
    _add_global_flags(parser, suppress=False)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    def command(name: str, help_text: str, epilog: str, module: str) -> argparse.ArgumentParser:
        p = sub.add_parser(
            name,
            help=help_text,
            description=help_text,
            epilog=epilog,
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )
        _add_global_flags(p, suppress=True)
        p.set_defaults(module=module)
        return p

    run = command("run", "run a Lua script", RUN_EPILOG, "run")
    run.add_argument("script", help="the .lua file to run")
    _add_limit_flags(run)
    run.add_argument("--engine", default="lua", help=ENGINE_HELP)
    run.add_argument("--stream", action="store_true", help="accepted for compatibility")
    run.add_argument(
        "--connect", metavar="ADDR", help="run on an existing kernel (connection file or id)"
    )

    exe = command("exec", "run a snippet of Lua", EXEC_EPILOG, "run")
    exe.add_argument("code", help="Lua code")
    _add_limit_flags(exe)
    exe.add_argument("--engine", default="lua", help=ENGINE_HELP)
    exe.add_argument("--stream", action="store_true", help="accepted for compatibility")
    exe.add_argument("--connect", metavar="ADDR", help="run on an existing kernel")

    config = command("config", "show the configuration", CONFIG_EPILOG, "config")
    config.add_argument(
        "action",
        nargs="?",
        default="show",
        choices=["show", "list-profiles", "path"],
        help="what to show (default: show)",
    )

    word = _command_word(parser, argv) if argv is not None else None
    if word in CORE_COMMANDS:
        return parser
    from llmspell_tui.commands import registry

    # `llmspell kernel list` builds the kernel parser only; no command (help) builds all
    registry.add_commands(command, only=word)
    return parser


def _command_word(parser: argparse.ArgumentParser, argv: Sequence[str]) -> str | None:
    """The first word of ``argv`` that is not a global option or an option's value."""
    words = iter(argv)
    for word in words:
        if word == "--":
            return None
        if not word.startswith("-"):
            return word
        # argparse has no public lookup of an option by its string
        action = parser._option_string_actions.get(word)
        if action is not None and action.nargs != 0:
            next(words, None)  # "-p minimal": skip the value too
    return None


def _add_limit_flags(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--sandbox", choices=["trusted", "restricted"], help="sandbox level ([runtime] sandbox)"
    )
    p.add_argument("--memory-limit", metavar="SIZE", help="Lua heap cap, e.g. 64MiB; 0 = none")
    p.add_argument("--time-limit", metavar="SECONDS", help="wall-clock budget; 0 = none")
    p.add_argument("--instruction-limit", metavar="N", help="Lua instruction budget; 0 = none")


def _split_script_args(argv: list[str]) -> tuple[list[str], list[str]]:
    """Arguments after the first standalone ``--`` belong to the script."""
    if "--" in argv:
        i = argv.index("--")
        return argv[:i], argv[i + 1 :]
    return argv, []


def _configure_logging(level: str) -> None:
    mapping = {
        "off": logging.CRITICAL + 10,
        "error": logging.ERROR,
        "warn": logging.WARNING,
        "info": logging.INFO,
        "debug": logging.DEBUG,
        "trace": logging.DEBUG,
    }
    logging.basicConfig(
        level=mapping.get(level, logging.WARNING),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``llmspell`` console script."""
    raw = list(sys.argv[1:] if argv is None else argv)
    ours, script_args = _split_script_args(raw)
    parser = build_parser(ours)
    args, extra = parser.parse_known_args(ours)
    if args.command is None:
        parser.print_help()
        return 0
    unknown = [word for word in extra if word.startswith("-")]
    if unknown or (extra and args.command not in ("run", "debug", "profile")):
        parser.error(f"unrecognized arguments: {' '.join(unknown or extra)}")
    args.script_args = extra + script_args
    _configure_logging(args.trace)
    module = importlib.import_module(f"llmspell_tui.commands.{args.module}")
    handler: Handler = module.main
    try:
        return handler(args)
    except LlmspellError as exc:
        print(f"llmspell: {exc}", file=sys.stderr)
        return exc.exit_status
    except KeyboardInterrupt:
        print("llmspell: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # the reader went away (`llmspell config show | head`): stop quietly, as cat does,
        # and point stdout at /dev/null so the interpreter's final flush cannot fail again
        import os

        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 141


if __name__ == "__main__":
    sys.exit(main())
