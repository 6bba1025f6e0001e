"""``data-validator``: checks a value against a list of typed rules (tools.md §5)."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from kernel_core.runtime.tools.errors import ToolValidationError
from kernel_core.runtime.tools.json_values import compare, type_name
from kernel_core.runtime.tools.registry import ToolSpec
from kernel_core.runtime.tools.result import ToolOutput, envelope_output
from kernel_core.runtime.tools.sandbox import ToolContext
from kernel_core.runtime.tools.schema import Param

MAX_ERRORS = 100
EMAIL = re.compile(r"^[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}$")
URL = re.compile(r"^https?://[^\s/$.?#][^\s]*$", re.IGNORECASE)
CUSTOM = {
    "phone": re.compile(r"^\+?[0-9\s\-().]{7,20}$"),
    "uuid": re.compile(
        r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-"
        r"[0-9a-fA-F]{12}$"
    ),
}
RULE_TYPES = (
    "required",
    "type",
    "length",
    "range",
    "pattern",
    "enum",
    "email",
    "url",
    "date",
    "custom",
    "array",
    "object",
)


def _luhn(text: str) -> bool:
    digits = [int(c) for c in re.sub(r"[\s-]", "", text) if c.isdigit()]
    if len(digits) < 12 or not re.fullmatch(r"[\d\s-]+", text):
        return False
    total = sum(
        d if i % 2 == 0 else (d * 2 - 9 if d * 2 > 9 else d * 2)
        for i, d in enumerate(reversed(digits))
    )
    return total % 10 == 0


def _rules(spec: Any, where: str) -> list[dict[str, Any]]:
    rules = spec.get("rules") if isinstance(spec, dict) else None
    if rules == {}:
        rules = []
    if not isinstance(rules, list):
        raise ToolValidationError(f"Invalid rules format: {where} must be {{rules = {{...}}}}")
    for i, rule in enumerate(rules, 1):
        if not isinstance(rule, dict) or rule.get("type") not in RULE_TYPES:
            raise ToolValidationError(
                f"Invalid rules format: rule #{i} of {where} needs type = one of "
                f"{', '.join(RULE_TYPES)}"
            )
    return rules


class _Checker:
    def __init__(self) -> None:
        self.errors: list[dict[str, Any]] = []

    def fail(self, field: str, value: Any, rule: str, message: str) -> None:
        if len(self.errors) < MAX_ERRORS:
            self.errors.append({"field": field, "value": value, "rule": rule, "message": message})

    def check(self, value: Any, rules: list[dict[str, Any]], field: str) -> None:
        for rule in rules:
            kind = rule["type"]
            if kind == "required":
                if value is None or value == "":
                    self.fail(field, value, kind, f"{field} is required")
                continue
            if value is None:
                continue  # only 'required' applies to a missing value
            getattr(self, f"_{kind}")(value, rule, field)

    def _type(self, value: Any, rule: dict[str, Any], field: str) -> None:
        expected = rule.get("expected")
        actual = type_name(value)
        if actual != expected:
            self.fail(field, value, "type", f"{field} must be of type {expected}, got {actual}")

    def _length(self, value: Any, rule: dict[str, Any], field: str) -> None:
        if not isinstance(value, str | list | dict):
            self.fail(field, value, "length", f"{field} has no length")
            return
        n = len(value)
        if rule.get("min") is not None and n < rule["min"]:
            self.fail(field, value, "length", f"{field} length must be at least {rule['min']}")
        if rule.get("max") is not None and n > rule["max"]:
            self.fail(field, value, "length", f"{field} length must be at most {rule['max']}")

    def _range(self, value: Any, rule: dict[str, Any], field: str) -> None:
        if type_name(value) != "number":
            self.fail(field, value, "range", f"{field} must be a number")
            return
        if rule.get("min") is not None and value < rule["min"]:
            self.fail(field, value, "range", f"{field} must be at least {rule['min']}")
        if rule.get("max") is not None and value > rule["max"]:
            self.fail(field, value, "range", f"{field} must be at most {rule['max']}")

    def _pattern(self, value: Any, rule: dict[str, Any], field: str) -> None:
        try:
            ok = isinstance(value, str) and re.search(str(rule.get("regex", "")), value)
        except re.error as err:
            raise ToolValidationError(f"Invalid rules format: bad regex: {err}") from None
        if not ok:
            self.fail(
                field, value, "pattern", f"{field} does not match pattern {rule.get('regex')}"
            )

    def _enum(self, value: Any, rule: dict[str, Any], field: str) -> None:
        values = rule.get("values") or []
        if not any(compare(value, v) == 0 for v in values):
            self.fail(field, value, "enum", f"{field} must be one of {values}")

    def _email(self, value: Any, rule: dict[str, Any], field: str) -> None:
        if not (isinstance(value, str) and EMAIL.match(value)):
            self.fail(field, value, "email", f"{field} must be a valid email address")

    def _url(self, value: Any, rule: dict[str, Any], field: str) -> None:
        if not (isinstance(value, str) and URL.match(value)):
            self.fail(field, value, "url", f"{field} must be a valid URL")

    def _date(self, value: Any, rule: dict[str, Any], field: str) -> None:
        fmt = str(rule.get("format") or "%Y-%m-%d")
        try:
            datetime.strptime(str(value), fmt)
        except ValueError:
            self.fail(field, value, "date", f"{field} must be a date in format {fmt}")

    def _custom(self, value: Any, rule: dict[str, Any], field: str) -> None:
        name = rule.get("name")
        if name == "credit_card":
            ok = isinstance(value, str) and _luhn(value)
        elif name in CUSTOM:
            ok = isinstance(value, str) and bool(CUSTOM[name].match(value))
        else:
            raise ToolValidationError(
                f"Invalid rules format: unknown custom validator '{name}' "
                "(phone, uuid, credit_card)"
            )
        if not ok:
            self.fail(field, value, "custom", f"{field} must be a valid {name}")

    def _array(self, value: Any, rule: dict[str, Any], field: str) -> None:
        if not isinstance(value, list):
            self.fail(field, value, "array", f"{field} must be an array")
            return
        if rule.get("min_items") is not None and len(value) < rule["min_items"]:
            self.fail(
                field, value, "array", f"{field} must have at least {rule['min_items']} items"
            )
        if rule.get("max_items") is not None and len(value) > rule["max_items"]:
            self.fail(field, value, "array", f"{field} must have at most {rule['max_items']} items")
        if rule.get("unique"):
            for i, item in enumerate(value):
                if any(compare(item, other) == 0 for other in value[:i]):
                    self.fail(field, value, "array", f"{field} must contain unique items")
                    break
        if rule.get("item_rules") is not None:
            rules = _rules(rule["item_rules"], f"{field} item_rules")
            for i, item in enumerate(value):
                self.check(item, rules, f"{field}[{i}]")

    def _object(self, value: Any, rule: dict[str, Any], field: str) -> None:
        if not isinstance(value, dict):
            self.fail(field, value, "object", f"{field} must be an object")
            return
        props = rule.get("properties") or {}
        for name in rule.get("required") or []:
            if name not in value:
                self.fail(f"{field}.{name}", None, "required", f"{field}.{name} is required")
        for name, spec in props.items():
            if name in value:
                self.check(value[name], _rules(spec, f"{field}.{name}"), f"{field}.{name}")
        if rule.get("additional_properties") is False:
            for name in value:
                if name not in props:
                    self.fail(
                        f"{field}.{name}",
                        value[name],
                        "object",
                        f"{field}.{name} is not an allowed property",
                    )


def run(params: dict[str, Any], context: ToolContext) -> ToolOutput:
    """Validate ``input`` against ``rules``."""
    rules = _rules(params["rules"], "rules")
    checker = _Checker()
    checker.check(params.get("input"), rules, "input")
    valid = not checker.errors
    return envelope_output(
        "validate",
        "Data validation passed" if valid else "Data validation failed",
        {"valid": valid, "errors": checker.errors},
    )


TOOLS = (
    ToolSpec(
        name="data-validator",
        description="Validates data against rules: required, type, length, range, pattern, "
        "enum, email, url, date, custom, nested arrays and objects",
        category="utility",
        parameters=(
            Param("input", "any", "The value to validate", required=True),
            Param("rules", "object", "{rules = {{type = 'required'}, ...}}", required=True),
        ),
        run=run,
    ),
)
