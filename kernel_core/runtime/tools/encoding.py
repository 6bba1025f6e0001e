"""``hash-calculator``, ``base64-encoder`` and ``uuid-generator``."""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
import time
import uuid
from typing import Any

from kernel_core.runtime.tools.errors import ResourceLimitError, StorageError, ToolValidationError
from kernel_core.runtime.tools.registry import ToolSpec
from kernel_core.runtime.tools.result import ToolOutput, data_output, envelope_output
from kernel_core.runtime.tools.sandbox import ToolContext
from kernel_core.runtime.tools.schema import Param

MAX_HASH_FILE = 100 * 1024 * 1024

# ---------------------------------------------------------------- hash-calculator

_ALGORITHMS = {
    "md5": ("md5", "MD5"),
    "sha1": ("sha1", "SHA-1"),
    "sha-1": ("sha1", "SHA-1"),
    "sha256": ("sha256", "SHA-256"),
    "sha-256": ("sha256", "SHA-256"),
    "sha512": ("sha512", "SHA-512"),
    "sha-512": ("sha512", "SHA-512"),
}


def _read_file(path: str, context: ToolContext, limit: int) -> bytes:
    real = context.sandbox.resolve(path, "read")
    try:
        size = real.stat().st_size
        if size > limit:
            raise ResourceLimitError(f"file {real} is {size} bytes; the limit is {limit}")
        return real.read_bytes()
    except OSError as err:
        raise StorageError(f"Failed to access path: {real} - {err.strerror or err}") from None


def _digest(data: bytes, algorithm: str, fmt: str) -> str:
    raw = hashlib.new(algorithm, data).digest()
    return base64.b64encode(raw).decode() if fmt == "base64" else raw.hex()


def hash_run(params: dict[str, Any], context: ToolContext) -> ToolOutput:
    """Hash a string or a file, or verify a hash."""
    operation = params["operation"]
    key = str(params.get("algorithm", "sha256")).lower()
    # LLMSpell falls back to SHA-256 for an unknown algorithm
    algorithm, display = _ALGORITHMS.get(key, ("sha256", "SHA-256"))
    fmt = "base64" if params.get("format") == "base64" else "hex"
    if params.get("input_type", "string") == "file":
        path = params.get("file") or params.get("path")
        if not isinstance(path, str):
            raise ToolValidationError("Missing required parameter 'file' for input_type 'file'")
        data = _read_file(path, context, min(MAX_HASH_FILE, context.max_file_size))
    else:
        text = params.get("input", params.get("data"))
        if not isinstance(text, str):
            raise ToolValidationError("Missing required parameter 'input'")
        data = text.encode()
    if operation == "hash":
        return envelope_output(
            "hash",
            f"Calculated {display} hash",
            {"algorithm": display, "hash": _digest(data, algorithm, fmt), "format": fmt},
        )
    expected = params.get("expected_hash")
    if not isinstance(expected, str):
        raise ToolValidationError("Missing required parameter 'expected_hash' for verify")
    expected_format = "base64" if params.get("expected_format") == "base64" else "hex"
    actual = _digest(data, algorithm, expected_format)
    matches = actual == expected if expected_format == "base64" else actual == expected.lower()
    if matches:
        return envelope_output(
            "verify", "Hash verification succeeded", {"verified": True, "algorithm": display}
        )
    return envelope_output(
        "verify",
        "Hash verification failed",
        {"verified": False, "algorithm": display, "expected": expected, "actual": actual},
    )


# ---------------------------------------------------------------- base64-encoder


def base64_run(params: dict[str, Any], context: ToolContext) -> ToolOutput:
    """Encode or decode base64 (standard or URL-safe), strings or files."""
    operation = params["operation"]
    url_safe = params.get("variant") in ("url-safe", "url_safe", "urlsafe")
    variant = "url-safe" if url_safe else "standard"
    if params.get("input_file"):
        data = _read_file(str(params["input_file"]), context, context.max_file_size)
    elif isinstance(params.get("input"), str):
        text = params["input"]
        if params.get("binary_input") and operation == "encode":
            try:
                data = bytes.fromhex(text)
            except ValueError:
                raise ToolValidationError("binary_input is true but 'input' is not hex") from None
        else:
            data = text.encode()
    else:
        raise ToolValidationError("Either 'input' or 'input_file' must be provided")
    if operation == "encode":
        out = (base64.urlsafe_b64encode if url_safe else base64.b64encode)(data)
    else:
        cleaned = re.sub(rb"\s+", b"", data)
        cleaned += b"=" * (-len(cleaned) % 4)
        try:
            if url_safe:
                out = base64.urlsafe_b64decode(cleaned)
            else:
                out = base64.b64decode(cleaned, validate=True)
        except (binascii.Error, ValueError) as err:
            raise ToolValidationError(f"Base64 decode error: {err}") from None
    if params.get("output_file"):
        target = context.sandbox.resolve(str(params["output_file"]), "write")
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(out)
        except OSError as err:
            raise StorageError(f"Failed to write {target}: {err.strerror or err}") from None
        return envelope_output(
            operation,
            f"Base64 {operation} completed successfully",
            metadata={"output_file": str(target), "size": len(out)},
        )
    binary = False
    try:
        text_out = out.decode()
    except UnicodeDecodeError:
        text_out, binary = out.hex(), True
    return envelope_output(
        operation,
        f"Base64 {operation} completed",
        {"output": text_out, "variant": variant, "binary": binary},
    )


# ---------------------------------------------------------------- uuid-generator

_NAMESPACES = {
    "dns": uuid.NAMESPACE_DNS,
    "url": uuid.NAMESPACE_URL,
    "oid": uuid.NAMESPACE_OID,
    "x500": uuid.NAMESPACE_X500,
    # LLMSpell's own namespaces for component ids
    "agent": uuid.UUID("6ba7b814-9dad-11d1-80b4-00c04fd430c8"),
    "tool": uuid.UUID("6ba7b815-9dad-11d1-80b4-00c04fd430c8"),
    "workflow": uuid.UUID("6ba7b816-9dad-11d1-80b4-00c04fd430c8"),
}
_FORMATS = ("standard", "hyphenated", "simple", "urn", "braced")


def _namespace(name: Any, default: str) -> uuid.UUID:
    key = str(name or default)
    if key.lower() in _NAMESPACES:
        return _NAMESPACES[key.lower()]
    try:
        return uuid.UUID(key)
    except ValueError:
        raise ToolValidationError(
            f"Invalid namespace: {key}. Use dns, url, oid, x500, agent, tool, workflow or a UUID"
        ) from None


def _formatted(value: uuid.UUID, fmt: str) -> str:
    if fmt == "simple":
        return value.hex
    if fmt == "urn":
        return value.urn
    if fmt == "braced":
        return "{" + str(value) + "}"
    return str(value)


def uuid_run(params: dict[str, Any], context: ToolContext) -> ToolOutput:
    """Generate, derive or validate UUIDs and component ids."""
    operation = params["operation"]
    if operation == "generate":
        version = str(params.get("version", "v4")).lower().lstrip("v")
        if version not in ("1", "4", "5"):
            raise ToolValidationError(
                f"Invalid UUID version: {params.get('version')}. Use v1, v4 or v5"
            )
        fmt = str(params.get("format", "standard"))
        if fmt not in _FORMATS:
            raise ToolValidationError(f"Invalid format: {fmt}. Use {', '.join(_FORMATS)}")
        if version == "5":
            name = params.get("name")
            if not isinstance(name, str):
                raise ToolValidationError("UUID v5 requires the 'name' parameter")
            value = uuid.uuid5(_namespace(params.get("namespace"), "dns"), name)
        else:
            value = uuid.uuid4()  # LLMSpell's v1 is random too: no MAC address leaks
        return envelope_output(
            "generate",
            "Generated UUID",
            {"uuid": _formatted(value, fmt), "version": f"v{version}", "format": fmt},
        )
    if operation == "component_id":
        prefix = str(params.get("prefix") or "component")
        short = bool(params.get("short"))
        raw = uuid.uuid4().hex[:8] if short else str(uuid.uuid4())
        return envelope_output(
            "component_id",
            "Generated component ID",
            {"id": f"{prefix}_{raw}", "prefix": prefix, "short": short},
        )
    if operation == "deterministic":
        name = params.get("name")
        if not isinstance(name, str):
            raise ToolValidationError("Missing required parameter 'name' for deterministic")
        ns = str(params.get("namespace") or "agent")
        if ns not in ("agent", "tool", "workflow"):
            raise ToolValidationError(f"Invalid namespace: {ns}. Use agent, tool or workflow")
        return envelope_output(
            "deterministic",
            "Generated deterministic UUID",
            {"id": str(uuid.uuid5(_NAMESPACES[ns], name)), "namespace": ns, "name": name},
        )
    if operation == "custom":
        short = bool(params.get("short"))
        parts = []
        if params.get("prefix"):
            parts.append(str(params["prefix"]))
        if params.get("timestamp"):
            parts.append(str(int(time.time())))
        parts.append(uuid.uuid4().hex[:8] if short else str(uuid.uuid4()))
        if params.get("suffix"):
            parts.append(str(params["suffix"]))
        return envelope_output(
            "custom",
            "Generated custom ID",
            {"id": "_".join(parts), "timestamp": bool(params.get("timestamp")), "short": short},
        )
    # validate: not an envelope; the data itself
    text = params.get("uuid")
    if not isinstance(text, str):
        raise ToolValidationError("Missing required parameter 'uuid' for validate")
    try:
        value = uuid.UUID(text.strip("{}").removeprefix("urn:uuid:"))
    except ValueError:
        return data_output({"valid": False, "error": "Invalid UUID format"})
    variant = {
        uuid.RFC_4122: "RFC4122",
        uuid.RESERVED_NCS: "NCS",
        uuid.RESERVED_MICROSOFT: "Microsoft",
        uuid.RESERVED_FUTURE: "Future",
    }
    return data_output(
        {
            "valid": True,
            "uuid": str(value),
            "version": f"v{value.version}" if value.version else "unknown",
            "variant": variant.get(value.variant, str(value.variant)),
        }
    )


TOOLS = (
    ToolSpec(
        name="hash-calculator",
        description="Calculates and verifies MD5, SHA-1, SHA-256 and SHA-512 hashes of "
        "strings and files",
        category="utility",
        security_level="restricted",
        parameters=(
            Param("operation", "string", "hash or verify", required=True, enum=("hash", "verify")),
            Param("algorithm", "string", "md5, sha1, sha256 or sha512", default="sha256"),
            Param(
                "input_type", "string", "string or file", default="string", enum=("string", "file")
            ),
            Param("input", "string", "Text to hash (input_type string)"),
            Param("file", "string", "File to hash (input_type file)"),
            Param("format", "string", "hex or base64", default="hex"),
            Param("expected_hash", "string", "Hash to compare against (verify)"),
            Param("expected_format", "string", "hex or base64", default="hex"),
        ),
        run=hash_run,
    ),
    ToolSpec(
        name="base64-encoder",
        description="Encodes and decodes base64 (standard or URL-safe) for text, hex bytes "
        "and files",
        category="utility",
        parameters=(
            Param(
                "operation", "string", "encode or decode", required=True, enum=("encode", "decode")
            ),
            Param("input", "string", "Text to encode or base64 to decode"),
            Param("input_file", "string", "Read the input from this file instead"),
            Param("output_file", "string", "Write the output to this file"),
            Param(
                "variant",
                "string",
                "standard or url-safe",
                default="standard",
                enum=("standard", "url-safe", "url_safe", "urlsafe"),
            ),
            Param("binary_input", "boolean", "Treat 'input' as hex bytes", default=False),
        ),
        run=base64_run,
    ),
    ToolSpec(
        name="uuid-generator",
        description="Generates UUIDs (v4, v5), component ids, deterministic ids, and "
        "validates UUIDs",
        category="utility",
        parameters=(
            Param(
                "operation",
                "string",
                "generate, component_id, deterministic, custom or validate",
                default="generate",
                enum=("generate", "component_id", "deterministic", "custom", "validate"),
            ),
            Param("version", "string", "v1, v4 or v5", default="v4"),
            Param(
                "format",
                "string",
                "standard, hyphenated, simple, urn or braced",
                default="standard",
            ),
            Param("namespace", "string", "v5/deterministic namespace"),
            Param("name", "string", "v5/deterministic name"),
            Param("prefix", "string", "Id prefix (component_id, custom)"),
            Param("suffix", "string", "Id suffix (custom)"),
            Param("short", "boolean", "Use the first 8 hex digits only", default=False),
            Param("timestamp", "boolean", "Include the unix time (custom)", default=False),
            Param("uuid", "string", "The UUID to validate"),
        ),
        run=uuid_run,
    ),
)
