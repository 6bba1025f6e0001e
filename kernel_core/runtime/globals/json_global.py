"""``JSON.parse`` and ``JSON.stringify`` (orjson), with the conversion rules of convert.py."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from kernel_core.runtime.errors import ScriptError

if TYPE_CHECKING:
    from kernel_core.runtime.script_runtime import ScriptRuntime


def install(runtime: ScriptRuntime) -> None:
    """Define the ``JSON`` global (orjson is imported on first use: it costs ~10 ms)."""

    def parse(*args: Any) -> Any:
        import orjson

        # *args: Lua may call with no argument at all, which Lua names "no value"
        text = args[0] if args else _NO_VALUE
        if not isinstance(text, str):
            raise ScriptError(
                f"bad argument #1 to 'JSON.parse' (string expected, got {_lua_type(text)})"
            )
        try:
            return orjson.loads(text)
        except orjson.JSONDecodeError as exc:
            raise ScriptError(f"JSON parse error: {exc}") from None

    def stringify(value: Any, pretty: Any = None) -> str:
        import orjson

        data = runtime.from_lua(value)
        options = orjson.OPT_NON_STR_KEYS | orjson.OPT_SORT_KEYS
        if pretty:
            options |= orjson.OPT_INDENT_2
        try:
            return orjson.dumps(data, option=options).decode()
        except TypeError as exc:
            raise ScriptError(f"JSON stringify error: {exc}") from None

    table = runtime.lua.table()
    table.parse = runtime.host_function("JSON.parse", parse)
    table.stringify = runtime.host_function("JSON.stringify", stringify)
    table.encode = table.stringify
    table.decode = table.parse
    table.array = runtime.api.array
    table.null = None
    runtime.set_global("JSON", table)


_NO_VALUE = object()


def _lua_type(value: Any) -> str:
    if value is _NO_VALUE:
        return "no value"
    if value is None:
        return "nil"
    from lupa.lua54 import lua_type

    return lua_type(value) or type(value).__name__
