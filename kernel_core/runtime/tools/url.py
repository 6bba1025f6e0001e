"""``url-analyzer``: parses and normalises URLs (offline; fetching metadata needs network)."""

from __future__ import annotations

import ipaddress
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit, urlunsplit

from kernel_core.runtime.tools.errors import ToolError, ToolValidationError
from kernel_core.runtime.tools.registry import ToolSpec
from kernel_core.runtime.tools.result import ToolOutput, envelope_output
from kernel_core.runtime.tools.sandbox import ToolContext
from kernel_core.runtime.tools.schema import Param

DEFAULT_PORTS = {"http": 80, "https": 443, "ftp": 21, "ws": 80, "wss": 443}


def run(params: dict[str, Any], context: ToolContext) -> ToolOutput:
    """Break a URL into its parts."""
    text = params["input"].strip()
    if params.get("fetch_metadata"):
        raise ToolError(
            "fetch_metadata needs network access, which llmspell does not provide "
            "offline; call url-analyzer without it"
        )
    try:
        parts = urlsplit(text)
        port = parts.port
    except ValueError as err:
        raise ToolValidationError(f"Invalid URL: {text} ({err})") from None
    if not parts.scheme or not (parts.netloc or parts.scheme in ("mailto", "file", "data")):
        raise ToolValidationError(f"Invalid URL: {text} (expected scheme://host/...)")
    host = parts.hostname
    scheme = parts.scheme.lower()
    decode = params.get("decode_params", True)
    if decode:
        query_params = dict(parse_qsl(parts.query, keep_blank_values=True))
    else:
        query_params = {
            key: value
            for key, _, value in (pair.partition("=") for pair in parts.query.split("&") if pair)
        }
    effective_port = port or DEFAULT_PORTS.get(scheme)
    netloc = host or ""
    if port and port != DEFAULT_PORTS.get(scheme):
        netloc += f":{port}"
    normalized = urlunsplit(
        (scheme, netloc.lower(), parts.path or "/", parts.query, parts.fragment)
    )
    result: dict[str, Any] = {
        "valid": True,
        "original": text,
        "normalized": normalized,
        "scheme": scheme,
        "host": host,
        "port": effective_port,
        "path": unquote(parts.path) if decode else parts.path,
        "query": parts.query or None,
        "fragment": parts.fragment or None,
        "query_params": query_params,
    }
    if host:
        try:
            ip = ipaddress.ip_address(host)
            result["host_info"] = {"type": f"ipv{ip.version}", "value": host, "is_ip": True}
        except ValueError:
            result["host_info"] = {"type": "domain", "value": host, "is_ip": False}
    if parts.username:
        result.update(
            username=parts.username, has_auth=True, has_password=parts.password is not None
        )
    return envelope_output("analyze", "URL analyzed", result)


TOOLS = (
    ToolSpec(
        name="url-analyzer",
        description="Parses a URL into scheme, host, port, path, query parameters and "
        "fragment, and normalises it",
        category="data",
        parameters=(
            Param("input", "string", "The URL", required=True),
            Param(
                "fetch_metadata",
                "boolean",
                "Fetch the page (needs network: refused)",
                default=False,
            ),
            Param("decode_params", "boolean", "Percent-decode query parameters", default=True),
        ),
        run=run,
    ),
)
