"""``llmspell profile SCRIPT``: run a script under the profiler and write its profile.

The script runs as ``llmspell run`` runs it (same arguments, configuration, sandbox, output
and exit status) on an execution thread, with a :class:`~kernel_core.profiler.profiler.Profiler`
on its runtime. A script that fails, or that Ctrl+C interrupts, still gets its profile
written: the partial run is what the user wants to see. ``--host`` (profile_host.py) profiles
the kernel process's own Python side with py-spy instead; ``--tui`` shows the profile live in
the TUI's Flamegraph pane.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kernel_core.errors import UsageError
from llmspell_tui.commands.scripts import script_path

if TYPE_CHECKING:
    from llmspell_tui.bridge import Launch

DEFAULT_FORMAT = "svg"
DEFAULT_TOP = 10

EPILOG = """\
examples:
  llmspell profile script.lua                    writes script.profile.svg (open it in a browser)
  llmspell profile script.lua -- --topic lua     arguments after -- reach the script (ARGS)
  llmspell profile script.lua -o run.speedscope.json    for https://www.speedscope.app
  llmspell profile script.lua --format folded    script.profile.folded (flamegraph.pl, inferno)
  llmspell profile script.lua -o - --format text | less
                                                 the profile on stdout; the script's own
                                                 output then goes to stderr
  llmspell profile script.lua --mode exact       exact call counts and times (slower run)
  llmspell profile script.lua --tui              watch the flamegraph live in the TUI
  llmspell profile --host work --duration 10     the Python side of kernel 'work' (py-spy)

The format comes from --format, else from the -o file's extension (.svg, .speedscope.json,
.json, .folded, .txt), else svg; the default file is SCRIPT.profile.EXT in the current
directory. A script that fails or is interrupted (Ctrl+C) still gets its profile written.

Exit status: the script's, as 'llmspell run' gives it (0 success, 1 script error, 130
interrupted, or the code the script passed to os.exit); 2 for a usage error.
"""


def add_parser(command: object) -> None:
    """Register ``profile`` with the CLI."""
    p = command(  # type: ignore[operator]
        "profile", "profile a script (flamegraph, speedscope, folded, text)", EPILOG, "profile"
    )
    p.add_argument("script", nargs="?", help="the .lua file to profile")
    p.add_argument(
        "-o",
        "--out",
        metavar="FILE",
        help="where to write the profile; '-' = stdout (the script's own output then goes to "
        "stderr); default: SCRIPT.profile.EXT here (kernel-PID.speedscope.json with --host)",
    )
    p.add_argument(
        "--format",
        metavar="svg|speedscope|folded|text",
        help="profile format; default: the -o file's extension, else svg",
    )
    p.add_argument(
        "--rate",
        type=_rate,
        metavar="HZ",
        help="samples per second, 1 to 20000; default: [profiler] rate (100 with --host)",
    )
    p.add_argument(
        "--mode",
        choices=["sampling", "exact"],
        help="sampling (low overhead) or exact (call counts and times; about 2.6 µs per call: "
        "up to 220 times slower on code made of small calls); default: [profiler] mode",
    )
    p.add_argument(
        "--top",
        type=_positive_int,
        default=DEFAULT_TOP,
        metavar="N",
        help=f"functions in the summary printed after the run (default {DEFAULT_TOP})",
    )
    p.add_argument("--tui", action="store_true", help="show the profile live in the TUI")
    p.add_argument(
        "--host",
        metavar="PID|KERNEL",
        help="profile a kernel process's Python side with py-spy (a pid, or a kernel's id or "
        "name from 'llmspell kernel list'); writes speedscope JSON",
    )
    p.add_argument(
        "--duration",
        type=_positive_int,
        metavar="SECONDS",
        help="with --host: how long to sample (default: until Ctrl+C)",
    )
    p.add_argument("--engine", default="lua", help="script engine; only 'lua' is supported")
    p.add_argument(
        "--sandbox", choices=["trusted", "restricted"], help="sandbox level ([runtime] sandbox)"
    )
    p.add_argument("--memory-limit", metavar="SIZE", help="Lua heap cap, e.g. 64MiB; 0 = none")
    p.add_argument("--time-limit", metavar="SECONDS", help="wall-clock budget; 0 = none")
    p.add_argument("--instruction-limit", metavar="N", help="Lua instruction budget; 0 = none")


def _rate(text: str) -> float:
    """``--rate``: a number of Hz in the range ``[profiler] rate`` accepts."""
    from kernel_core.config.schema import SCHEMA, SettingValueError

    try:
        rate: float = SCHEMA["profiler"].settings["rate"].parse(text)
    except SettingValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    return rate


def _positive_int(text: str) -> int:
    """``--top``, ``--duration``: written as every count is (``20``, ``1_000``, ``1e3``)."""
    from kernel_core.config.schema import SettingValueError, whole_number

    try:
        number = whole_number(text)
    except SettingValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    if number < 1:
        raise argparse.ArgumentTypeError(f"expected a number from 1 up, got {number}")
    return number


def main(args: argparse.Namespace) -> int:
    """Profile the script (or, with ``--host``, a kernel process); returns the exit status."""
    if args.host is not None:
        _reject(args, "--host", script=bool(args.script), mode=args.mode, tui=args.tui)
        from llmspell_tui.commands.profile_host import profile_host

        return profile_host(args)
    if args.duration is not None:
        raise UsageError("--duration is for --host; a script is profiled until it ends")
    if not args.script:
        raise UsageError(
            "name the script to profile (llmspell profile script.lua), or a kernel to profile "
            "with --host PID|KERNEL"
        )
    script = script_path(args.script)
    if args.tui:
        if args.out is not None or args.format is not None:
            raise UsageError(
                "--tui shows the profile in the TUI: drop -o/--format, or drop --tui to write "
                "a file"
            )
        return run_profile_tui(args)
    fmt, target = output_of(args, default_stem=f"{script.stem}.profile")
    from llmspell_tui.commands.profile_run import profile_script

    return profile_script(args, script, fmt, target)


def _reject(args: argparse.Namespace, flag: str, **given: object) -> None:
    """Options that do not go with ``flag`` are a usage error naming them."""
    names = {"script": "script", "mode": "--mode", "tui": "--tui"}
    wrong = [names[key] for key, value in given.items() if value]
    if args.script_args and not given.get("script"):
        wrong.append("script arguments")
    if wrong:
        raise UsageError(
            f"{flag} profiles a running kernel process, so it takes no {', '.join(wrong)}; "
            "profile a script with 'llmspell profile script.lua'"
        )


def output_of(args: argparse.Namespace, default_stem: str) -> tuple[str, Path | None]:
    """The export format and the file to write (None = stdout), checked before anything runs."""
    from kernel_core.profiler.export import EXTENSIONS, format_for

    if args.out == "-":
        return format_for("", args.format or DEFAULT_FORMAT), None
    if args.out is None:
        fmt = format_for("", args.format or DEFAULT_FORMAT)
        # the first (longest) extension that names each format: .speedscope.json, not .json
        suffix = next(ext for ext, name in EXTENSIONS.items() if name == fmt)
        target = Path(default_stem + suffix)
    else:
        target = Path(args.out).expanduser()
        check_writable(target)
        fmt = format_for(target, args.format)
    check_writable(target)
    return fmt, target


def check_writable(target: Path) -> None:
    """A usage error unless ``target`` can be created or overwritten."""
    if target.is_dir():
        raise UsageError(f"cannot write the profile to {target}: it is a directory; name a file")
    parent = target.parent
    if not parent.is_dir():
        raise UsageError(
            f"cannot write the profile to {target}: the directory {parent} does not exist "
            "(create it, or choose another -o)"
        )
    if not os.access(parent, os.W_OK) or (target.exists() and not os.access(target, os.W_OK)):
        raise UsageError(
            f"cannot write the profile to {target}: permission denied (choose another -o)"
        )


def run_profile_tui(args: argparse.Namespace) -> int:
    """Launch the TUI on the script as ``llmspell tui script.lua`` does, profiling from its
    first line (the Flamegraph pane shows it live); returns the script's exit status if it
    finished."""
    from llmspell_tui.commands.tui import run_tui

    return run_tui(args, tui_launch(args))


def tui_launch(args: argparse.Namespace) -> Launch:
    """What the TUI launches for ``llmspell profile SCRIPT --tui``: the script, run at once
    (breakpoints and errors still stop it), with profiling on before it starts."""
    from llmspell_tui.bridge import Launch
    from llmspell_tui.commands.common import limit_overrides

    if limit_overrides(args):
        # the TUI's kernel reads them from the configuration, not from flags
        raise UsageError(
            "--tui runs the script on a kernel, which takes its sandbox and limits from the "
            "configuration: set them in llmspell.toml ([runtime]) or drop --tui"
        )
    profiling: dict[str, Any] = {}  # what is not given, the kernel's [profiler] settings decide
    if args.mode is not None:
        profiling["mode"] = args.mode
    if args.rate is not None:
        profiling["rate"] = args.rate
    return Launch(
        script=Path(args.script),
        args=list(args.script_args),
        stop_on_entry=False,
        config=getattr(args, "config", None),
        profile=getattr(args, "profile", None),
        profiling=profiling,
    )
