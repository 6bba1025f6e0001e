"""``environment-reader`` and ``system-monitor`` (reads /proc; no psutil)."""

from __future__ import annotations

import fnmatch
import os
import shutil
import time
from typing import Any

from kernel_core.runtime.tools.errors import SecurityViolation, ToolValidationError
from kernel_core.runtime.tools.registry import ToolSpec
from kernel_core.runtime.tools.result import ToolOutput, envelope_output
from kernel_core.runtime.tools.sandbox import ToolContext
from kernel_core.runtime.tools.schema import Param

READABLE = (
    "PATH",
    "HOME",
    "USER",
    "SHELL",
    "PWD",
    "LANG",
    "TERM",
    "TZ",
    "TMPDIR",
    "TEMP",
    "OLDPWD",
    "LC_*",
)
BLOCKED = (
    "*PASSWORD*",
    "*SECRET*",
    "*KEY*",
    "*TOKEN*",
    "*CREDENTIAL*",
    "*AUTH*",
    "AWS_*",
    "AZURE_*",
    "GCP_*",
    "*_PRIVATE_*",
    "SSH_*",
    "GITHUB_TOKEN",
    "API_*",
)
MAX_VARIABLES = 100


def readable(name: str) -> bool:
    """Whether a script may read this variable (the block list wins)."""
    upper = name.upper()
    if any(fnmatch.fnmatchcase(upper, p) for p in BLOCKED):
        return False
    return any(fnmatch.fnmatchcase(name, p) for p in READABLE)


def env_run(params: dict[str, Any], context: ToolContext) -> ToolOutput:
    """Read allowed environment variables."""
    op = params["operation"]
    if op == "get":
        name = params.get("variable_name")
        if not isinstance(name, str):
            raise ToolValidationError("get requires 'variable_name'")
        if not readable(name):
            raise SecurityViolation(f"Access to environment variable '{name}' is not permitted")
        value = os.environ.get(name)
        return envelope_output(
            "get",
            f"Environment variable '{name}' {'found' if value is not None else 'not set'}",
            {"variable_name": name, "value": value, "found": value is not None},
        )
    if op == "set":
        raise SecurityViolation("Setting environment variables is disabled")
    pattern = params.get("pattern") if op == "pattern" else None
    if op == "pattern" and not isinstance(pattern, str):
        raise ToolValidationError("pattern requires 'pattern' (a glob like 'LC_*')")
    variables = {}
    for name in sorted(os.environ):
        if readable(name) and (pattern is None or fnmatch.fnmatchcase(name, pattern)):
            variables[name] = os.environ[name]
            if len(variables) >= MAX_VARIABLES:
                break
    result: dict[str, Any] = {"variables": variables, "count": len(variables)}
    if pattern is not None:
        result["pattern"] = pattern
    return envelope_output(op, f"Found {len(variables)} environment variables", result)


def _formatted(size: float) -> str:
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if size < 1024 or unit == "TB":
            return f"{size:.2f} {unit}"
        size /= 1024
    return f"{size:.2f} TB"


def _cpu_times() -> tuple[int, int] | None:
    try:
        with open("/proc/stat", encoding="ascii") as handle:
            fields = [int(x) for x in handle.readline().split()[1:]]
    except (OSError, ValueError):
        return None
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)
    return sum(fields), idle


def _cpu() -> dict[str, Any]:
    first = _cpu_times()
    time.sleep(0.1)
    second = _cpu_times()
    usage = 0.0
    if first and second and second[0] > first[0]:
        total, idle = second[0] - first[0], second[1] - first[1]
        usage = round(100.0 * (total - idle) / total, 2)
    load = list(os.getloadavg()) if hasattr(os, "getloadavg") else [0.0, 0.0, 0.0]
    return {
        "cpu_usage_percent": usage,
        "cpu_count": os.cpu_count() or 1,
        "load_average": [round(x, 2) for x in load],
    }


def _memory() -> dict[str, Any]:
    info: dict[str, int] = {}
    try:
        with open("/proc/meminfo", encoding="ascii") as handle:
            for line in handle:
                key, _, rest = line.partition(":")
                info[key] = int(rest.split()[0]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    total = info.get("MemTotal", 0)
    available = info.get("MemAvailable", info.get("MemFree", 0))
    used = total - available
    return {
        "total_memory_bytes": total,
        "used_memory_bytes": used,
        "available_memory_bytes": available,
        "memory_usage_percent": round(100.0 * used / total, 2) if total else 0.0,
        "total_memory_formatted": _formatted(total),
        "used_memory_formatted": _formatted(used),
        "available_memory_formatted": _formatted(available),
    }


def _disk() -> dict[str, Any]:
    disks = {}
    for mount in ("/", "/tmp", os.path.expanduser("~")):
        try:
            usage = shutil.disk_usage(mount)
        except OSError:
            continue
        disks[mount] = {
            "total_bytes": usage.total,
            "used_bytes": usage.used,
            "free_bytes": usage.free,
            "usage_percent": round(100.0 * usage.used / usage.total, 2) if usage.total else 0.0,
            "total_formatted": _formatted(usage.total),
            "free_formatted": _formatted(usage.free),
        }
    return {"disk_usage": disks}


def monitor_run(params: dict[str, Any], context: ToolContext) -> ToolOutput:
    """CPU, memory, disk and process statistics of this machine."""
    op = params["operation"]
    if op == "cpu":
        return envelope_output("cpu", "CPU statistics", _cpu())
    if op == "memory":
        return envelope_output("memory", "Memory statistics", _memory())
    if op == "disk":
        return envelope_output("disk", "Disk statistics", _disk())
    try:
        with open("/proc/uptime", encoding="ascii") as handle:
            uptime = int(float(handle.read().split()[0]))
    except (OSError, ValueError, IndexError):
        uptime = 0
    try:
        processes = sum(1 for entry in os.listdir("/proc") if entry.isdigit())
    except OSError:
        processes = 0
    cpu, memory = _cpu(), _memory()
    result = {
        **cpu,
        **memory,
        **_disk(),
        "uptime_seconds": uptime,
        "process_count": processes,
        "formatted": {
            "cpu_usage": f"{cpu['cpu_usage_percent']:.1f}%",
            "memory_usage": f"{memory['memory_usage_percent']:.1f}%",
            "total_memory": memory["total_memory_formatted"],
            "uptime": f"{uptime // 86400}d {uptime % 86400 // 3600}h {uptime % 3600 // 60}m",
        },
    }
    return envelope_output(op, "System statistics", result)


TOOLS = (
    ToolSpec(
        name="environment-reader",
        description="Reads allowed environment variables (PATH, HOME, LANG, ...); secrets are "
        "never readable",
        category="system",
        security_level="restricted",
        parameters=(
            Param(
                "operation",
                "string",
                "get, list, pattern or set",
                required=True,
                enum=("get", "list", "pattern", "set"),
            ),
            Param("variable_name", "string", "Variable to get"),
            Param("pattern", "string", "Glob like 'LC_*' (pattern)"),
            Param("value", "string", "Value for set (disabled)"),
        ),
        run=env_run,
    ),
    ToolSpec(
        name="system-monitor",
        description="Reports CPU, memory, disk usage, uptime and process count",
        category="system",
        parameters=(
            Param(
                "operation",
                "string",
                "all, stats, cpu, memory or disk",
                default="all",
                enum=("all", "stats", "cpu", "memory", "disk"),
            ),
        ),
        run=monitor_run,
    ),
)
