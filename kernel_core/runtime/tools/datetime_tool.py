"""``datetime-handler``: parse, convert between time zones, add, diff and describe dates."""

from __future__ import annotations

import calendar
import re
from datetime import UTC, datetime, timedelta, tzinfo
from email.utils import parsedate_to_datetime
from typing import Any

from kernel_core.runtime.tools.errors import ToolError, ToolValidationError
from kernel_core.runtime.tools.registry import ToolSpec
from kernel_core.runtime.tools.result import ToolOutput, envelope_output
from kernel_core.runtime.tools.sandbox import ToolContext
from kernel_core.runtime.tools.schema import Param

DEFAULT_FORMAT = "%Y-%m-%dT%H:%M:%S%.fZ"
_DATE_FORMATS = ("%Y-%m-%d", "%Y/%m/%d", "%d/%m/%Y", "%m/%d/%Y", "%d.%m.%Y", "%B %d, %Y")
FORMATS = tuple(f"{d} %H:%M:%S" for d in _DATE_FORMATS) + _DATE_FORMATS
UNITS = {
    **dict.fromkeys(("s", "sec", "secs", "second", "seconds"), "seconds"),
    **dict.fromkeys(("m", "min", "mins", "minute", "minutes"), "minutes"),
    **dict.fromkeys(("h", "hr", "hrs", "hour", "hours"), "hours"),
    **dict.fromkeys(("d", "day", "days"), "days"),
    **dict.fromkeys(("w", "week", "weeks"), "weeks"),
}


def _zone(name: str) -> tzinfo:
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    if name.upper() in ("UTC", "Z", "GMT"):
        return UTC
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ToolError(
            f"Invalid timezone: {name} (use an IANA name like 'Europe/Paris' or 'UTC')"
        ) from None


def strftime(moment: datetime, fmt: str) -> str:
    """strftime with chrono's ``%.f`` (fractional seconds with a leading dot)."""
    micro = f".{moment.microsecond:06d}".rstrip("0") if moment.microsecond else ""
    return moment.strftime(fmt.replace("%.f", micro.replace("%", "%%")))


def parse(text: Any) -> tuple[datetime, str]:
    """A timezone-aware datetime and the name of the format that matched."""
    if isinstance(text, int | float) and not isinstance(text, bool):
        return datetime.fromtimestamp(text, UTC), "unix_timestamp"
    if not isinstance(text, str):
        raise ToolValidationError("Missing required parameter 'input' (a date/time)")
    value = text.strip()
    if re.fullmatch(r"-?\d+", value):
        return datetime.fromtimestamp(int(value), UTC), "unix_timestamp"
    try:
        moment = datetime.fromisoformat(value.replace("z", "Z"))
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=UTC)
        if re.match(r"\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}", value):
            return moment, "RFC3339"
    except ValueError:
        pass
    try:
        return parsedate_to_datetime(value), "RFC2822"
    except (TypeError, ValueError, IndexError):
        pass
    for fmt in FORMATS:
        try:
            return datetime.strptime(value, fmt).replace(tzinfo=UTC), fmt
        except ValueError:
            continue
    raise ToolError(
        f"Failed to parse date: '{text}' (use RFC 3339 like 2024-01-15T10:30:00Z, "
        "a unix timestamp, or YYYY-MM-DD)"
    )


def _parts(moment: datetime) -> dict[str, Any]:
    return {
        "year": moment.year,
        "month": moment.month,
        "day": moment.day,
        "hour": moment.hour,
        "minute": moment.minute,
        "second": moment.second,
        "weekday": moment.strftime("%A"),
    }


def _iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def _human(seconds: float) -> str:
    sign = "-" if seconds < 0 else ""
    rest = int(abs(seconds))
    days, rest = divmod(rest, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    parts = [
        f"{n} {unit}{'s' if n != 1 else ''}"
        for n, unit in ((days, "day"), (hours, "hour"), (minutes, "minute"), (secs, "second"))
        if n
    ]
    return sign + (", ".join(parts) if parts else "0 seconds")


def run(params: dict[str, Any], context: ToolContext) -> ToolOutput:
    """One date/time operation."""
    op = params["operation"]
    if op == "now":
        fmt = params.get("format") or DEFAULT_FORMAT
        tz_name = params.get("timezone")
        moment = datetime.now(_zone(tz_name)) if tz_name else datetime.now().astimezone()
        return envelope_output(
            "now",
            "Current date and time",
            {
                "timezone": tz_name or "local",
                "datetime": strftime(moment, fmt),
                "format": fmt,
                "timestamp": int(moment.timestamp()),
            },
        )
    if op == "formats":
        return envelope_output(
            "formats",
            "Supported formats",
            {
                "available_formats": ["unix_timestamp", "RFC3339", "RFC2822", *FORMATS],
                "example_formats": {
                    "RFC3339": "2024-01-15T10:30:00Z",
                    "RFC2822": "Mon, 15 Jan 2024 10:30:00 +0000",
                    "unix_timestamp": "1705314600",
                    "%Y-%m-%d": "2024-01-15",
                    "%B %d, %Y": "January 15, 2024",
                },
            },
        )
    if op == "difference":
        start, _ = parse(params.get("start"))
        end, _ = parse(params.get("end"))
        total = (end - start).total_seconds()
        return envelope_output(
            "difference",
            "Calculated time difference",
            {
                "start": _iso(start),
                "end": _iso(end),
                "difference": {
                    "total_seconds": int(total) if total.is_integer() else total,
                    "days": int(total // 86400) if total >= 0 else -int(-total // 86400),
                    "hours": int(total / 3600),
                    "minutes": int(total / 60),
                    "human_readable": _human(total),
                },
            },
        )
    text = params.get("input")
    moment, fmt_used = parse(text)
    if op == "parse":
        return envelope_output(
            "parse",
            "Parsed date",
            {
                "input": text,
                "parsed": {
                    "utc": _iso(moment.astimezone(UTC)),
                    "timestamp": int(moment.timestamp()),
                    **_parts(moment),
                },
                "format_used": fmt_used,
            },
        )
    if op == "convert_timezone":
        target = params.get("target_timezone")
        if not isinstance(target, str):
            raise ToolValidationError("convert_timezone requires 'target_timezone' (IANA name)")
        fmt = params.get("format") or "%Y-%m-%d %H:%M:%S %Z"
        converted = moment.astimezone(_zone(target))
        return envelope_output(
            "convert_timezone",
            f"Converted to {target}",
            {
                "input": text,
                "target_timezone": target,
                "original": strftime(moment, fmt),
                "converted": strftime(converted, fmt),
            },
        )
    if op in ("add", "subtract"):
        amount = params.get("amount")
        if not isinstance(amount, int) or isinstance(amount, bool):
            raise ToolValidationError(f"{op} requires 'amount' (a whole number)")
        unit = UNITS.get(str(params.get("unit", "")).lower())
        if unit is None:
            raise ToolValidationError(
                f"Invalid unit: {params.get('unit')}. Use seconds, minutes, hours, days or weeks"
            )
        delta = timedelta(**{unit: amount})
        result = moment + delta if op == "add" else moment - delta
        verb = "Added" if op == "add" else "Subtracted"
        return envelope_output(
            op,
            f"{verb} {amount} {unit}",
            {
                "input": text,
                "amount": amount,
                "unit": unit,
                "original": _iso(moment),
                "result": _iso(result),
            },
        )
    # info
    start_day = moment.replace(hour=0, minute=0, second=0, microsecond=0)
    return envelope_output(
        "info",
        "Date information",
        {
            "input": text,
            "info": {
                **_parts(moment),
                "day_of_year": moment.timetuple().tm_yday,
                "week_of_year": moment.isocalendar().week,
                "is_leap_year": calendar.isleap(moment.year),
                "days_in_month": calendar.monthrange(moment.year, moment.month)[1],
                "start_of_day": _iso(start_day),
                "end_of_day": _iso(start_day + timedelta(days=1) - timedelta(microseconds=1)),
            },
        },
    )


TOOLS = (
    ToolSpec(
        name="datetime-handler",
        description="Parses, formats and converts dates and times across time zones; adds "
        "durations and computes differences",
        category="utility",
        parameters=(
            Param(
                "operation",
                "string",
                "parse, now, convert_timezone, add, subtract, difference, info or formats",
                default="parse",
                enum=(
                    "parse",
                    "now",
                    "convert_timezone",
                    "add",
                    "subtract",
                    "difference",
                    "info",
                    "formats",
                ),
            ),
            Param("input", "any", "Date/time text or unix timestamp"),
            Param("timezone", "string", "IANA time zone for now"),
            Param("target_timezone", "string", "IANA time zone for convert_timezone"),
            Param("amount", "integer", "Amount for add/subtract"),
            Param("unit", "string", "seconds, minutes, hours, days or weeks"),
            Param("start", "any", "Start of a difference"),
            Param("end", "any", "End of a difference"),
            Param("format", "string", "strftime format (%.f = fractional seconds)"),
        ),
        run=run,
    ),
)
