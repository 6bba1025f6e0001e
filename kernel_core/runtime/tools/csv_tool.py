"""``csv-analyzer``: analyse, convert, filter, sample, transform and validate CSV text."""

from __future__ import annotations

import contextlib
import csv
import io
import re
import statistics
from typing import Any

from kernel_core.runtime.tools.errors import ResourceLimitError, ToolValidationError
from kernel_core.runtime.tools.registry import ToolSpec
from kernel_core.runtime.tools.result import ToolOutput, data_output, envelope, text_output
from kernel_core.runtime.tools.sandbox import ToolContext
from kernel_core.runtime.tools.schema import Param

MAX_INPUT = 500 * 1024 * 1024
MAX_STATS_ROWS = 10_000
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def _read(text: str) -> tuple[list[str], list[list[str]], str]:
    sample = text[:8192]
    counts = {d: sample.splitlines()[0].count(d) if sample else 0 for d in (",", ";", "\t", "|")}
    delimiter = max(counts, key=lambda d: counts[d]) if any(counts.values()) else ","
    rows = list(csv.reader(io.StringIO(text), delimiter=delimiter))
    rows = [r for r in rows if r]
    if not rows:
        raise ToolValidationError("CSV input has no rows")
    return rows[0], rows[1:], delimiter


def _typed(cell: str) -> tuple[str, Any]:
    if cell == "":
        return "null", None
    if re.fullmatch(r"[+-]?\d+", cell):
        return "integer", int(cell)
    if re.fullmatch(r"[+-]?(\d+\.\d*|\.\d+|\d+)([eE][+-]?\d+)?", cell):
        return "float", float(cell)
    if cell.lower() in ("true", "false"):
        return "boolean", cell.lower() == "true"
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}", cell):
        return "date", cell
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2})?.*", cell):
        return "date_time", cell
    return "string", cell


def _column(name: str, cells: list[str]) -> dict[str, Any]:
    typed = [_typed(c) for c in cells]
    kinds = {k for k, _ in typed if k != "null"}
    if kinds == {"integer", "float"}:
        kinds = {"float"}
    data_type = kinds.pop() if len(kinds) == 1 else ("string" if not kinds else "mixed")
    values = [v for k, v in typed if k != "null"]
    numbers = [float(v) for k, v in typed if k in ("integer", "float")]
    column: dict[str, Any] = {
        "name": name,
        "data_type": data_type,
        "null_count": len(cells) - len(values),
        "unique_count": len(set(map(str, values))),
        "sample_values": [str(v) for v in values[:5]],
    }
    if numbers and data_type in ("integer", "float"):
        column.update(
            min_value=str(min(numbers)),
            max_value=str(max(numbers)),
            mean=statistics.fmean(numbers),
            median=statistics.median(numbers),
            std_dev=statistics.stdev(numbers) if len(numbers) > 1 else 0.0,
        )
    elif values:
        texts = sorted(map(str, values))
        column.update(min_value=texts[0], max_value=texts[-1])
    return column


def _write(header: list[str], rows: list[list[str]], delimiter: str = ",") -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=delimiter, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    return buffer.getvalue()


def _compare(cell: str, op: str, target: str) -> bool:
    left: Any = cell
    right: Any = target
    with contextlib.suppress(ValueError):
        left, right = float(cell), float(target)
    if op == "==":
        return bool(left == right)
    if op == "!=":
        return bool(left != right)
    try:
        return bool(
            {"<": left < right, ">": left > right, "<=": left <= right, ">=": left >= right}[op]
        )
    except TypeError:
        return False


def _operand(token: str, row: list[str], positions: dict[str, int]) -> float:
    if token in positions:
        return float(row[positions[token]])
    return float(token)


def _arithmetic(m: re.Match[str], row: list[str], positions: dict[str, int]) -> str:
    """``a <op> b`` over a row's cells; empty when a cell is not a number."""
    try:
        a = _operand(m.group(1), row, positions)
        b = _operand(m.group(3), row, positions)
    except (ValueError, IndexError):
        return ""
    ops = {"+": a + b, "-": a - b, "*": a * b, "/": a / b if b else float("nan")}
    result = ops[m.group(2)]
    return str(int(result)) if result.is_integer() else str(result)


def run(params: dict[str, Any], context: ToolContext) -> ToolOutput:
    """One CSV operation."""
    text = params["input"]
    if len(text) > MAX_INPUT:
        raise ResourceLimitError(f"CSV input is larger than {MAX_INPUT} bytes")
    op = params["operation"]
    options = params.get("options") or {}
    header, rows, delimiter = _read(text)
    index = {name: i for i, name in enumerate(header)}

    def column_of(name: Any) -> int:
        if name not in index:
            raise ToolValidationError(f"Unknown column '{name}'; columns are: {', '.join(header)}")
        return index[name]

    if op == "analyze":
        stats_rows = rows[:MAX_STATS_ROWS]
        columns = [
            _column(name, [r[i] if i < len(r) else "" for r in stats_rows])
            for i, name in enumerate(header)
        ]
        analysis = {
            "row_count": len(rows),
            "column_count": len(header),
            "encoding": "UTF-8",
            "delimiter": delimiter,
            "has_headers": True,
            "columns": columns,
            "file_size_bytes": len(text.encode()),
            "parse_errors": sum(1 for r in rows if len(r) != len(header)),
        }
        return data_output(
            analysis, envelope("analyze", message="CSV analyzed"), analysis_result=analysis
        )
    if op == "convert":
        fmt = str(options.get("format") or "")
        records = [
            {name: (r[i] if i < len(r) else None) for i, name in enumerate(header)} for r in rows
        ]
        if fmt == "json":
            return data_output(records, envelope("convert", message="Converted to json"))
        if fmt in ("jsonl", "jsonlines"):
            import json

            out = "\n".join(json.dumps(r, ensure_ascii=False) for r in records)
        elif fmt == "tsv":
            out = _write(header, rows, "\t")
        else:
            raise ToolValidationError(
                f"Unsupported convert format '{fmt}' (json, jsonl, tsv; "
                "parquet and excel need libraries llmspell does not ship)"
            )
        return text_output(out, "convert", envelope("convert", message=f"Converted to {fmt}"))
    if op == "filter":
        m = re.fullmatch(r"\s*(.+?)\s*(==|!=|>=|<=|>|<)\s*(.*?)\s*", str(options.get("filter", "")))
        if m is None:
            raise ToolValidationError(
                "filter needs options.filter like 'age > 30' (operators == != > < >= <=)"
            )
        col = column_of(m.group(1))
        target = m.group(3).strip("'\"")
        kept = [r for r in rows if col < len(r) and _compare(r[col], m.group(2), target)]
        return text_output(
            _write(header, kept, delimiter),
            "filter",
            envelope("filter", message=f"{len(kept)} rows match"),
        )
    if op == "sample":
        size = int(options.get("size", 10))
        return text_output(
            _write(header, rows[:size], delimiter),
            "sample",
            envelope("sample", message=f"Sampled {min(size, len(rows))} rows"),
        )
    if op == "transform":
        renames = options.get("rename_columns") or {}
        new_header = [renames.get(h, h) for h in header]
        new_rows = [list(r) for r in rows]
        for name, expr in (options.get("add_columns") or {}).items():
            # expressions may name columns by their old or new names, or use numbers
            positions = {n: i for i, n in enumerate(new_header)} | index
            m = re.fullmatch(r"\s*(\w+)\s*([-+*/])\s*(\w+)\s*", str(expr))
            new_header.append(str(name))
            for r in new_rows:
                r.append(_arithmetic(m, r, positions) if m else str(expr))
        return text_output(
            _write(new_header, new_rows, delimiter),
            "transform",
            envelope("transform", message="CSV transformed"),
        )
    # validate
    rules = options.get("rules")
    if not isinstance(rules, dict) or not rules:
        raise ToolValidationError(
            "validate needs options.rules like {email = 'email', age = 'range:0-120'}"
        )
    errors = []
    for number, row in enumerate(rows, 1):
        for name, rule in rules.items():
            cell = row[column_of(name)] if column_of(name) < len(row) else ""
            problem = None
            if rule == "email" and not _EMAIL.match(cell):
                problem = "invalid email"
            elif isinstance(rule, str) and rule.startswith("range:"):
                low, _, high = rule[6:].partition("-")
                try:
                    if not float(low) <= float(cell) <= float(high):
                        problem = f"out of range {low}-{high}"
                except ValueError:
                    problem = "not a number"
            if problem:
                errors.append({"row": number, "column": name, "value": cell, "error": problem})
    summary = {
        "valid": not errors,
        "errors": errors,
        "total_rows": len(rows),
        "error_count": len(errors),
    }
    return data_output(summary, envelope("validate", message="CSV validated"))


TOOLS = (
    ToolSpec(
        name="csv-analyzer",
        description="Analyzes CSV content (column types and statistics), converts it to JSON/"
        "JSONL/TSV, filters, samples, transforms and validates rows",
        category="data",
        parameters=(
            Param("input", "string", "CSV content (not a path)", required=True),
            Param(
                "operation",
                "string",
                "analyze, convert, filter, transform, validate or sample",
                default="analyze",
                enum=("analyze", "convert", "filter", "transform", "validate", "sample"),
            ),
            Param("options", "object", "format, filter, size, add_columns, rename_columns, rules"),
        ),
        run=run,
    ),
)
