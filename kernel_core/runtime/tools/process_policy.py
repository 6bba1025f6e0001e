"""What ``process-executor`` lets an allowed command do: its options and which arguments are paths.

An allow-list of command names is not a policy: ``find -exec``, ``sort -o FILE``,
``sort --compress-program=PROG``, ``wc --files0-from=F`` and plain ``cat /etc/shadow`` all run
an allowed name. So every allowed command has a rule naming the options it may take (anything
else is refused, naming the option) and which operands are paths; each path operand must lie
inside the tools' allowed paths, as ``file-operations`` requires.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from kernel_core.runtime.tools.errors import SecurityViolation

# what an option's value is: checked as a path, or plain text
PATH, TEXT = "path", "text"


@dataclass(frozen=True)
class Rule:
    """One command's options and operands."""

    flags: str = ""  # single-letter options without a value (clusters like -la allowed)
    short_values: dict[str, str] = field(default_factory=dict)  # -n 5, -n5
    long_flags: frozenset[str] = frozenset()
    long_values: dict[str, str] = field(default_factory=dict)  # --lines=5, --lines 5
    operands: str = PATH  # PATH: every operand is a path; TEXT: none is; "none": none allowed
    numeric_shorthand: bool = False  # head -5, tail -20
    first_operand_text: bool = False  # grep PATTERN FILE...
    max_operands: int | None = None


_COLOR = frozenset({"--color", "--colour"})
RULES: dict[str, Rule] = {
    "echo": Rule(operands=TEXT),
    "pwd": Rule(flags="LP", operands="none"),
    "whoami": Rule(operands="none"),
    "uname": Rule(flags="asnrvmpio", long_flags=frozenset({"--all"}), operands="none"),
    "which": Rule(flags="a", operands=TEXT),
    "date": Rule(
        flags="uR",
        short_values={"d": TEXT, "I": TEXT},
        long_flags=frozenset({"--utc", "--universal", "--rfc-email", "--iso-8601"}),
        long_values={"--date": TEXT, "--iso-8601": TEXT, "--rfc-3339": TEXT, "--reference": PATH},
        operands=TEXT,  # +FORMAT
        max_operands=1,
    ),
    "cat": Rule(flags="AbeEnstTuv", long_flags=frozenset({"--number", "--show-all"})),
    "head": Rule(
        flags="qvz",
        short_values={"n": TEXT, "c": TEXT},
        long_values={"--lines": TEXT, "--bytes": TEXT},
        numeric_shorthand=True,
    ),
    "tail": Rule(
        flags="qvzrF",
        short_values={"n": TEXT, "c": TEXT},
        long_values={"--lines": TEXT, "--bytes": TEXT},
        numeric_shorthand=True,
    ),
    "wc": Rule(
        flags="clmwL",
        long_flags=frozenset({"--lines", "--words", "--bytes", "--chars", "--max-line-length"}),
    ),
    "grep": Rule(
        flags="EFGPivwxyclLhHnobqsrIaUzZ",
        short_values={"e": TEXT, "f": PATH, "m": TEXT, "A": TEXT, "B": TEXT, "C": TEXT},
        long_flags=_COLOR
        | frozenset(
            {"--ignore-case", "--invert-match", "--count", "--line-number", "--recursive"}
            | {"--files-with-matches", "--quiet", "--word-regexp", "--extended-regexp"}
        ),
        long_values={
            "--regexp": TEXT,
            "--file": PATH,
            "--max-count": TEXT,
            "--include": TEXT,
            "--exclude": TEXT,
            "--exclude-dir": TEXT,
            "--exclude-from": PATH,
            "--color": TEXT,
            "--colour": TEXT,
            "--context": TEXT,
        },
        first_operand_text=True,
    ),
    "sort": Rule(
        flags="bdfghiMnRrsuVzcCm",
        short_values={"k": TEXT, "t": TEXT, "S": TEXT},
        long_flags=frozenset({"--reverse", "--numeric-sort", "--unique", "--ignore-case"}),
        long_values={"--key": TEXT, "--field-separator": TEXT, "--buffer-size": TEXT},
    ),
    "uniq": Rule(
        flags="cdDiuz",
        short_values={"f": TEXT, "s": TEXT, "w": TEXT},
        long_flags=frozenset({"--count", "--repeated", "--unique", "--ignore-case"}),
        max_operands=1,  # a second operand is a file uniq writes
    ),
    "ls": Rule(
        flags="aAbBcCdfFgGhiklLmnNopqQrRsStuUvxX1",
        long_flags=_COLOR | frozenset({"--all", "--almost-all", "--human-readable"}),
        long_values={"--color": TEXT, "--sort": TEXT, "--time-style": TEXT},
    ),
}

# find's expression: predicates with no value, and those taking one (PATH ones are checked)
_FIND_FLAGS = frozenset(
    [
        "-print",
        "-print0",
        "-prune",
        "-empty",
        "-depth",
        "-true",
        "-false",
        "-not",
        "-and",
        "-or",
        "-a",
        "-o",
        "!",
        "(",
        ")",
        ",",
        "-ls",
        "-readable",
        "-writable",
        "-executable",
        "-nouser",
        "-nogroup",
        "-xdev",
        "-mount",
        "-daystart",
        "-quit",
    ]
)
_FIND_VALUES = {
    **dict.fromkeys(
        [
            "-name",
            "-iname",
            "-path",
            "-ipath",
            "-wholename",
            "-iwholename",
            "-regex",
            "-iregex",
            "-type",
            "-xtype",
            "-maxdepth",
            "-mindepth",
            "-size",
            "-mtime",
            "-mmin",
            "-atime",
            "-amin",
            "-ctime",
            "-cmin",
            "-user",
            "-group",
            "-perm",
            "-links",
            "-uid",
            "-gid",
            "-inum",
            "-regextype",
            "-printf",
            "-used",
            "-lname",
            "-ilname",
        ],
        TEXT,
    ),
    "-newer": PATH,
    "-anewer": PATH,
    "-cnewer": PATH,
    "-samefile": PATH,
}
# test's unary file operators and binary file comparisons: their operands are paths
_TEST_FILE_UNARY = frozenset(
    [
        "-e",
        "-f",
        "-d",
        "-r",
        "-w",
        "-x",
        "-s",
        "-L",
        "-h",
        "-b",
        "-c",
        "-p",
        "-S",
        "-g",
        "-u",
        "-k",
        "-O",
        "-G",
        "-N",
    ]
)
_TEST_FILE_BINARY = frozenset({"-nt", "-ot", "-ef"})


class ArgumentRefused(SecurityViolation):
    """An argument the command's rule does not allow."""


def _refuse(command: str, argument: str, why: str) -> ArgumentRefused:
    return ArgumentRefused(
        f"Execution of '{command}' is not permitted with argument '{argument}': {why}"
    )


def check(command: str, arguments: Sequence[str], check_path: Callable[[str], None]) -> None:
    """Raise ``SecurityViolation`` unless every argument is allowed for ``command``.

    ``check_path`` raises for a path outside the allowed paths.
    """
    if command == "echo":
        return  # echo's arguments are text, its options harmless
    if command == "find":
        _check_find(arguments, check_path)
        return
    if command == "test":
        _check_test(arguments, check_path)
        return
    _Options(command, RULES[command], arguments, check_path).check()


class _Options:
    """One pass over a command's arguments, as getopt_long reads them."""

    def __init__(
        self,
        command: str,
        rule: Rule,
        arguments: Sequence[str],
        check_path: Callable[[str], None],
    ) -> None:
        self.command, self.rule, self.args, self.check_path = command, rule, arguments, check_path
        self.i = 0
        self.patterns_given = False  # grep -e/-f: then every operand is a file

    def check(self) -> None:
        rule, operands, options_done = self.rule, [], False
        while self.i < len(self.args):
            arg = self.args[self.i]
            self.i += 1
            if options_done or arg == "-" or not arg.startswith("-"):
                operands.append(arg)
            elif arg == "--":
                options_done = True
            else:
                self.option(arg)
        if rule.operands == "none" and operands:
            raise _refuse(self.command, operands[0], f"{self.command} takes no operands here")
        if rule.max_operands is not None and len(operands) > rule.max_operands:
            raise _refuse(
                self.command,
                operands[rule.max_operands],
                f"{self.command} takes at most {rule.max_operands} operand(s) here",
            )
        if rule.operands != PATH:
            return
        if rule.first_operand_text and not self.patterns_given:
            operands = operands[1:]
        for operand in operands:
            if operand != "-":
                self.check_path(operand)

    def value(self, option: str) -> str:
        if self.i >= len(self.args):
            raise _refuse(self.command, option, "the option needs a value")
        self.i += 1
        return self.args[self.i - 1]

    def option(self, arg: str) -> None:
        rule = self.rule
        if arg.startswith("--"):
            name, eq, value = arg.partition("=")
            if name in ("--regexp", "--file"):
                self.patterns_given = True
            if name in rule.long_values and (eq or name not in rule.long_flags):
                _check_value(
                    rule.long_values[name], value if eq else self.value(arg), self.check_path
                )
                return
            if name in rule.long_flags and not eq:
                return
            raise _refuse(self.command, arg, _unknown(self.command, rule))
        if rule.numeric_shorthand and arg[1:].isdigit():
            return
        letters = arg[1:]
        for k, letter in enumerate(letters):
            if letter in rule.short_values:
                if letter in "ef" and self.command == "grep":
                    self.patterns_given = True
                value = letters[k + 1 :] or self.value(arg)
                _check_value(rule.short_values[letter], value, self.check_path)
                return
            if letter not in rule.flags:
                raise _refuse(self.command, arg, _unknown(self.command, rule))


def _check_value(kind: str, value: str, check_path: Callable[[str], None]) -> None:
    if kind == PATH:
        check_path(value)


def _unknown(command: str, rule: Rule) -> str:
    shown = [f"-{c}" for c in rule.flags] + [f"-{c} VALUE" for c in rule.short_values]
    shown += sorted(rule.long_flags) + [f"{n}=VALUE" for n in sorted(rule.long_values)]
    listed = " ".join(shown) if shown else "none"
    return f"process-executor allows only these options for {command}: {listed}"


def _check_find(arguments: Sequence[str], check_path: Callable[[str], None]) -> None:
    i = 0
    # start points come first, before any expression token; -H/-L/-P options before them
    while i < len(arguments) and arguments[i] in ("-P", "-H", "-L", "-D", "-O"):
        if arguments[i] != "-P":
            raise _refuse("find", arguments[i], "following symbolic links is not allowed")
        i += 1
    starts = 0
    while i < len(arguments) and not (
        arguments[i].startswith("-") or arguments[i] in ("(", ")", "!", ",")
    ):
        check_path(arguments[i])
        starts += 1
        i += 1
    if starts == 0:
        check_path(".")
    while i < len(arguments):
        arg = arguments[i]
        if arg in _FIND_VALUES:
            if i + 1 >= len(arguments):
                raise _refuse("find", arg, "the predicate needs a value")
            _check_value(_FIND_VALUES[arg], arguments[i + 1], check_path)
            i += 2
            continue
        if arg not in _FIND_FLAGS:
            why = (
                "find may not run commands, delete or write files"
                if arg.startswith(("-exec", "-ok", "-delete", "-fprint", "-fls"))
                else "process-executor allows only find's tests and printing actions"
            )
            raise _refuse("find", arg, why)
        i += 1


def _check_test(arguments: Sequence[str], check_path: Callable[[str], None]) -> None:
    for i, arg in enumerate(arguments):
        if arg in _TEST_FILE_UNARY and i + 1 < len(arguments):
            check_path(arguments[i + 1])
        elif arg in _TEST_FILE_BINARY:
            if i > 0:
                check_path(arguments[i - 1])
            if i + 1 < len(arguments):
                check_path(arguments[i + 1])


def resolve_executable(executable: str, which: Callable[[str], str | None]) -> str | None:
    """The real path of the allowed command ``executable`` names, looked up on PATH.

    A name with a directory in it is accepted only when it is that same program: an
    absolute path to a binary that merely shares an allowed name is not.
    """
    base = os.path.basename(executable)
    found = which(base)
    if found is None:
        return None
    if os.sep in executable and os.path.realpath(executable) != os.path.realpath(found):
        raise SecurityViolation(
            f"Execution of '{executable}' is not permitted: give the command's name "
            f"('{base}'); process-executor runs the {base} found on PATH ({found})"
        )
    return found
