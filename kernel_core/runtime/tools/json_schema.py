"""A JSON Schema (draft 7) subset for ``json-processor``'s validate operation.

Keywords: type, enum, const, properties, required, additionalProperties, patternProperties,
items (schema or list), minItems, maxItems, uniqueItems, contains, minLength, maxLength,
pattern, minimum, maximum, exclusiveMinimum, exclusiveMaximum, multipleOf, minProperties,
maxProperties, allOf, anyOf, oneOf, not, if/then/else, format (email, date, date-time, uri,
uuid, ipv4), and local ``$ref`` (``#/definitions/x``).
"""

from __future__ import annotations

import re
from typing import Any

from kernel_core.runtime.tools.json_values import compare, type_name

FORMATS = {
    "email": r"^[^@\s]+@[^@\s]+\.[^@\s]+$",
    "date": r"^\d{4}-\d{2}-\d{2}$",
    "date-time": r"^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$",
    "uri": r"^[A-Za-z][A-Za-z0-9+.-]*:[^\s]*$",
    "uuid": r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$",
    "ipv4": r"^((25[0-5]|2[0-4]\d|1?\d?\d)\.){3}(25[0-5]|2[0-4]\d|1?\d?\d)$",
}


def _is_type(value: Any, kind: str) -> bool:
    actual = type_name(value)
    if kind == "integer":
        return actual == "number" and float(value).is_integer()
    return actual == kind


def validate(value: Any, schema: Any, root: Any = None, path: str = "") -> list[dict[str, str]]:
    """Every violation as ``{path, message, keyword}``; empty when valid."""
    root = schema if root is None else root
    if schema is True or schema == {}:
        return []
    if schema is False:
        return [{"path": path or "/", "message": "no value is allowed here", "keyword": "false"}]
    if not isinstance(schema, dict):
        return []
    errors: list[dict[str, str]] = []

    def fail(keyword: str, message: str, at: str = path) -> None:
        errors.append({"path": at or "/", "message": message, "keyword": keyword})

    ref = schema.get("$ref")
    if isinstance(ref, str):
        target: Any = root
        if not ref.startswith("#"):
            fail("$ref", f"only local references are supported, got {ref}")
            return errors
        for part in [p for p in ref[1:].split("/") if p]:
            target = target.get(part) if isinstance(target, dict) else None
        errors += validate(value, target, root, path)
    kinds = schema.get("type")
    if kinds is not None:
        wanted = kinds if isinstance(kinds, list) else [kinds]
        if not any(_is_type(value, k) for k in wanted):
            fail("type", f"{type_name(value)} is not of type {' or '.join(map(str, wanted))}")
            return errors
    if "enum" in schema and not any(compare(value, e) == 0 for e in schema["enum"]):
        fail("enum", f"{value!r} is not one of {schema['enum']!r}")
    if "const" in schema and compare(value, schema["const"]) != 0:
        fail("const", f"{value!r} is not {schema['const']!r}")
    if isinstance(value, str):
        if "minLength" in schema and len(value) < schema["minLength"]:
            fail("minLength", f"{value!r} is shorter than {schema['minLength']} characters")
        if "maxLength" in schema and len(value) > schema["maxLength"]:
            fail("maxLength", f"{value!r} is longer than {schema['maxLength']} characters")
        if "pattern" in schema and not re.search(schema["pattern"], value):
            fail("pattern", f"{value!r} does not match {schema['pattern']!r}")
        fmt = schema.get("format")
        if fmt in FORMATS and not re.match(FORMATS[fmt], value):
            fail("format", f"{value!r} is not a valid {fmt}")
    if type_name(value) == "number":
        if "minimum" in schema and value < schema["minimum"]:
            fail("minimum", f"{value} is less than the minimum of {schema['minimum']}")
        if "maximum" in schema and value > schema["maximum"]:
            fail("maximum", f"{value} is greater than the maximum of {schema['maximum']}")
        if "exclusiveMinimum" in schema and value <= schema["exclusiveMinimum"]:
            fail("exclusiveMinimum", f"{value} is not greater than {schema['exclusiveMinimum']}")
        if "exclusiveMaximum" in schema and value >= schema["exclusiveMaximum"]:
            fail("exclusiveMaximum", f"{value} is not less than {schema['exclusiveMaximum']}")
        step = schema.get("multipleOf")
        if step and (value / step) % 1:
            fail("multipleOf", f"{value} is not a multiple of {step}")
    if isinstance(value, list):
        items = schema.get("items")
        if isinstance(items, list):
            for i, (item, sub) in enumerate(zip(value, items, strict=False)):
                errors += validate(item, sub, root, f"{path}/{i}")
        elif items is not None:
            for i, item in enumerate(value):
                errors += validate(item, items, root, f"{path}/{i}")
        if "minItems" in schema and len(value) < schema["minItems"]:
            fail("minItems", f"array has fewer than {schema['minItems']} items")
        if "maxItems" in schema and len(value) > schema["maxItems"]:
            fail("maxItems", f"array has more than {schema['maxItems']} items")
        if schema.get("uniqueItems"):
            for i, a in enumerate(value):
                if any(compare(a, b) == 0 for b in value[:i]):
                    fail("uniqueItems", "array has non-unique elements")
                    break
        if "contains" in schema and not any(
            not validate(item, schema["contains"], root) for item in value
        ):
            fail("contains", "no array item matches the 'contains' schema")
    if isinstance(value, dict):
        for name in schema.get("required", []):
            if name not in value:
                fail("required", f"'{name}' is a required property")
        props = schema.get("properties", {})
        patterns = schema.get("patternProperties", {})
        for key, item in value.items():
            matched = False
            if key in props:
                matched = True
                errors += validate(item, props[key], root, f"{path}/{key}")
            for pattern, sub in patterns.items():
                if re.search(pattern, key):
                    matched = True
                    errors += validate(item, sub, root, f"{path}/{key}")
            extra = schema.get("additionalProperties")
            if not matched and extra is False:
                fail("additionalProperties", f"additional property '{key}' is not allowed")
            elif not matched and isinstance(extra, dict):
                errors += validate(item, extra, root, f"{path}/{key}")
        if "minProperties" in schema and len(value) < schema["minProperties"]:
            fail("minProperties", f"object has fewer than {schema['minProperties']} properties")
        if "maxProperties" in schema and len(value) > schema["maxProperties"]:
            fail("maxProperties", f"object has more than {schema['maxProperties']} properties")
    for sub in schema.get("allOf", []):
        errors += validate(value, sub, root, path)
    if "anyOf" in schema and all(validate(value, s, root, path) for s in schema["anyOf"]):
        fail("anyOf", "value does not match any schema in anyOf")
    if "oneOf" in schema:
        matches = sum(1 for s in schema["oneOf"] if not validate(value, s, root, path))
        if matches != 1:
            fail("oneOf", f"value matches {matches} schemas in oneOf, not exactly one")
    if "not" in schema and not validate(value, schema["not"], root, path):
        fail("not", "value must not match the 'not' schema")
    if "if" in schema:
        branch = "then" if not validate(value, schema["if"], root, path) else "else"
        if branch in schema:
            errors += validate(value, schema[branch], root, path)
    return errors
