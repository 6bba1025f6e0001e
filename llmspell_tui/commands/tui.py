"""``llmspell tui``: the debugger TUI (Textual is imported only when this command runs)."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from kernel_core.errors import UsageError

if TYPE_CHECKING:
    from llmspell_tui.app import LlmspellApp
    from llmspell_tui.bridge import Attach, Launch

EPILOG = """\
examples:
  llmspell tui script.lua                 debug a script: stops before its first line (F5 runs)
  llmspell tui script.lua -- --topic lua  pass arguments to the script
  llmspell tui script.lua --no-stop       run at once (breakpoints and errors still stop)
  llmspell tui --attach work              join the running kernel named 'work'
  llmspell tui                            a console session on a fresh kernel

Keys: F5 continue/run, F10 step over, F11 step in, Shift+F11 step out, F9 breakpoint,
F6 pause, ? every key, Ctrl+P command palette, Ctrl+Q quit. With the source focused,
n s r c b step, step in, return, continue and toggle a breakpoint (as in pudb).
"""


def add_parser(command: object) -> None:
    """Register ``tui`` with the CLI."""
    p = command("tui", "debug a script in the terminal UI", EPILOG, "tui")  # type: ignore[operator]
    p.add_argument("script", nargs="?", help="the .lua file to debug")
    p.add_argument(
        "--attach",
        metavar="KERNEL",
        nargs="?",
        const="",
        help="attach to a running kernel (id, name or connection file; none: the newest)",
    )
    p.add_argument("--no-stop", action="store_true", help="do not stop before the first line")
    p.add_argument(
        "--theme",
        help="colour theme: dark or light (themes/*.tcss); default: [tui] theme in the config, "
        "else the theme last picked in the TUI (Ctrl+T), else dark",
    )
    p.add_argument("--name", help="a name for the kernel started for you")


def main(args: argparse.Namespace) -> int:
    """Run the TUI until the user quits; returns the script's exit status if it finished."""
    return run_tui(args, target_from_args(args))


def run_tui(args: argparse.Namespace, target: Launch | Attach) -> int:
    """Run the TUI on ``target`` in the theme ``args``/the configuration choose, until the user
    quits; returns the script's exit status if it finished."""
    from llmspell_tui.app import LlmspellApp
    from llmspell_tui.commands.common import config_from_args
    from llmspell_tui.themes import available_themes

    config = config_from_args(args)
    theme = getattr(args, "theme", None)
    # the default value does not count: then the theme last picked in the TUI wins
    if theme is None and config.origin("tui.theme") != "default":
        theme = str(config.get("tui", "theme"))
    if theme is not None and theme not in available_themes():
        raise UsageError(f"unknown theme '{theme}'; choose one of: {', '.join(available_themes())}")
    app = LlmspellApp(target, theme=theme, scrollback=int(config.get("tui", "scrollback")))
    app.run()
    return exit_status(app)


def exit_status(app: LlmspellApp) -> int:
    """What ``llmspell tui`` exits with: non-zero after a crash (Textual has printed its
    traceback), else the script's exit status if it finished."""
    if app.return_code:
        return app.return_code
    return app.exit_code or 0


def target_from_args(args: argparse.Namespace) -> Launch | Attach:
    """The kernel the TUI works on: one to attach to, or one to launch (with a script or not)."""
    from llmspell_tui.bridge import Attach, Launch

    if args.attach is not None:
        if args.script:
            raise UsageError("give a script or --attach, not both")
        from kernel_core.kernel.registry import resolve_kernel

        # a kernel that cannot be found is a command-line error, before any screen is drawn
        return Attach(str(resolve_kernel(args.attach or None)))
    from llmspell_tui.commands.scripts import script_path

    script = script_path(args.script) if args.script else None
    # without a script there is no entry to stop at: the console's first cell just runs
    return Launch(
        script=script,
        args=list(args.script_args),
        stop_on_entry=script is not None and not args.no_stop,
        config=getattr(args, "config", None),
        profile=getattr(args, "profile", None),
        name=args.name,
    )
