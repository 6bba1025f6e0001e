"""The ``Tool`` global: run built-in and script-defined tools (lua-globals.md §1, tools.md).

Lua (tool.lua) checks arguments and builds tool instances; Python looks tools up, fires hook
points, validates parameters, runs the tool and shapes its result.
"""

from __future__ import annotations

import itertools
import logging
import math
import threading
import time
from typing import TYPE_CHECKING, Any

from lupa.lua54 import lua_type

from kernel_core.errors import LlmspellError
from kernel_core.runtime.errors import ScriptError
from kernel_core.runtime.tools.errors import ToolError, ToolTimeoutError
from kernel_core.runtime.tools.registry import NETWORK_TOOLS, ToolRegistry, ToolSpec
from kernel_core.runtime.tools.result import ToolOutput, to_json
from kernel_core.runtime.tools.runner import CallOptions, ToolRunner
from kernel_core.runtime.tools.sandbox import PathSandbox, ToolContext
from kernel_core.runtime.tools.schema import TYPES, Param

if TYPE_CHECKING:
    from kernel_core.runtime.script_runtime import ScriptRuntime

log = logging.getLogger(__name__)

_deadline_ids = itertools.count(1)


class ToolGlobal:
    """The Python half of the Tool global for one runtime."""

    def __init__(self, runtime: ScriptRuntime) -> None:
        self.runtime = runtime
        self.registry = ToolRegistry()
        self.runner = ToolRunner(
            self.registry, self._make_context, lambda: runtime.hooks, self._run_lua_tool
        )
        self.call_handler: Any = None  # set by install() from tool.lua
        # Lua handlers of script-defined tools, by name (Lua objects stay out of ToolSpec)
        self.handlers: dict[str, Any] = {}

    def _make_context(self) -> ToolContext:
        tools = self.runtime.config.section("tools")
        return ToolContext(
            sandbox=PathSandbox(list(tools["allowed_paths"])),
            max_file_size=int(tools["max_file_size"]),
            allow_process_execution=bool(tools["allow_process_execution"]),
            sandbox_level=self.runtime.sandbox_level,
        )

    # ------------------------------------------------------------------ execution

    def execute(self, name: Any, params: Any, options: Any, style: str = "global") -> Any:
        """``Tool.execute(name, params, options)``: the shaped result table."""
        name = str(name)
        data = self._params(params)
        call = self._options(options)
        try:
            return self.runner.execute(name, data, call)
        except ToolError as err:
            prefix = (
                "Tool execution failed"
                if style == "global"
                else (f"Tool '{name}' execution failed")
            )
            raise ScriptError(f"{prefix}: {err}") from None
        except LlmspellError as err:
            raise ScriptError(str(err)) from None

    def _params(self, params: Any) -> dict[str, Any]:
        if lua_type(params) != "table":
            raise ScriptError("Tool parameters must be a table")
        out: dict[str, Any] = {}
        for key, value in params.items():
            # LLMSpell silently drops top-level values it cannot convert (callbacks)
            if lua_type(value) in ("function", "userdata", "thread"):
                continue
            out[str(key)] = self.runtime.from_lua(value, what=f"params.{key}")
        return out

    def _options(self, options: Any) -> CallOptions:
        if options is None:
            return CallOptions()
        data = self.runtime.from_lua(options, what="options")
        if not isinstance(data, dict):
            raise ScriptError("Tool options must be a table like {timeout = 5, retry = 2}")
        timeout = data.get("timeout")
        retry = data.get("retry", 0)
        if timeout is not None and (
            isinstance(timeout, bool)
            or not isinstance(timeout, int | float)
            or not math.isfinite(timeout)
            or timeout <= 0
        ):
            raise ScriptError(
                f"Tool option 'timeout' must be a positive number of seconds, got {timeout!r}"
            )
        if isinstance(retry, bool) or not isinstance(retry, int) or retry < 0:
            raise ScriptError(
                f"Tool option 'retry' must be a whole number of retries (0 or more), got {retry!r}"
            )
        return CallOptions(float(timeout) if timeout is not None else None, retry)

    def _run_lua_tool(
        self, spec: ToolSpec, params: dict[str, Any], context: ToolContext, timeout: float | None
    ) -> ToolOutput:
        handler = self.handlers[spec.name]
        token = None
        timer = None
        timeout_text = f"Tool '{spec.name}' timed out after {timeout:g}s" if timeout else None
        if timeout is not None:
            # the handler runs on this (the Lua) thread: a timer arms the Lua hook, which
            # raises inside the handler at its next instruction (tool.lua)
            token = f"deadline-{next(_deadline_ids)}"
            timer = threading.Timer(timeout, self.runtime.request_abort, ("tool-timeout", token))
            timer.daemon = True
            timer.start()
        started = time.perf_counter()
        try:
            ok, *rest = self.call_handler(handler, self.runtime.to_lua(params), token, timeout_text)
        finally:
            if timer is not None:
                timer.cancel()
        if not ok:
            kind, message = rest
            if kind == "timeout":
                raise ToolTimeoutError(str(message))
            raise ToolError(str(message))
        if timeout is not None and time.perf_counter() - started > timeout:
            # the handler swallowed the deadline error with pcall: still a timeout
            raise ToolTimeoutError(str(timeout_text))
        value = rest[0] if rest else None
        if isinstance(value, str):
            return ToolOutput(value)
        data = self.runtime.from_lua(value, what=f"the result of tool '{spec.name}'")
        return ToolOutput(to_json(data), value=data, has_value=True)

    # ------------------------------------------------------------------ discovery

    def info(self, name: Any) -> dict[str, Any] | None:
        """``Tool.get_info``: ``{name, description, category, version, schema}`` or None."""
        spec = self.registry.get(str(name))
        if spec is None:
            return None
        out = spec.info()
        out["schema"] = spec.schema()
        return out

    def schema(self, name: Any) -> dict[str, Any] | None:
        """``Tool.get_schema``."""
        spec = self.registry.get(str(name))
        return spec.schema() if spec else None

    def exists(self, name: Any) -> bool:
        """``Tool.exists``."""
        return self.registry.get(str(name)) is not None

    def available(self, name: Any) -> bool:
        """``Tool.is_available``: exists and may run with the current configuration."""
        spec = self.registry.get(str(name))
        if spec is None:
            return False
        if spec.name == "process-executor":
            return self.runtime.sandbox_level != "restricted" and bool(
                self.runtime.config.get("tools", "allow_process_execution")
            )
        return True

    def _discovery(self, filter_data: dict[str, Any] | None) -> list[dict[str, Any]]:
        decision = self.runner.fire("BeforeToolDiscovery", "*", {"filter": filter_data or {}})
        if decision.action == "cancel":
            raise ScriptError(
                f"Tool discovery cancelled by a BeforeToolDiscovery hook: "
                f"{decision.reason or 'no reason given'}"
            )
        if decision.action in ("skip", "replace"):
            return list(decision.data) if isinstance(decision.data, list) else []
        if decision.action == "modified" and isinstance(decision.data, dict):
            filter_data = decision.data.get("filter", decision.data)
        tools = [spec.info() for spec in self.registry]
        tools = [t for t in tools if _matches(t, filter_data)]
        decision = self.runner.fire("AfterToolDiscovery", "*", {"tools": tools})
        if decision.action == "modified":
            data = decision.data
            if isinstance(data, dict) and isinstance(data.get("tools"), list):
                data = data["tools"]
            if isinstance(data, list):
                tools = data
        return tools

    def list_tools(self) -> list[dict[str, Any]]:
        """``Tool.list``: ``{name, description, version, category}`` per tool."""
        return [
            {k: t[k] for k in ("name", "description", "version", "category") if k in t}
            for t in self._discovery(None)
        ]

    def discover(self, filter_table: Any = None) -> list[dict[str, Any]]:
        """``Tool.discover(filter)``."""
        data = self.runtime.from_lua(filter_table, what="filter") if filter_table else None
        return [
            {k: t[k] for k in ("name", "description", "category", "version") if k in t}
            for t in self._discovery(data if isinstance(data, dict) else None)
        ]

    def categories(self) -> list[str]:
        """``Tool.categories``: distinct categories, sorted."""
        return sorted({spec.category for spec in self.registry})

    def names(self) -> list[str]:
        """Every tool name (for "did you mean" hints), the network ones included."""
        return [*self.registry.names(), *NETWORK_TOOLS]

    # ------------------------------------------------------------------ registration

    def register(self, name: Any, handler: Any, meta: Any) -> bool:
        """``Tool.register(name, handler_or_spec)``."""
        name = str(name)
        data = self.runtime.from_lua(meta, what="the tool spec") if meta is not None else {}
        if not isinstance(data, dict):
            data = {}
        parameters = _parse_parameters(name, data.get("parameters"))
        spec = ToolSpec(
            name=name,
            description=str(data.get("description") or f"Script-defined tool '{name}'"),
            category=str(data.get("category") or "custom"),
            parameters=parameters,
            run=_unreachable,
            version=str(data.get("version") or "1.0.0"),
            security_level="safe",
            builtin=False,
            runs_lua=True,
        )
        try:
            self.registry.register(spec)
        except ValueError as err:
            raise ScriptError(f"Tool.register: {err}") from None
        self.handlers[name] = handler
        return True

    def unregister(self, name: Any) -> bool:
        """``Tool.unregister(name)``: True when a script-defined tool was removed."""
        removed = self.registry.unregister(str(name))
        if removed:
            self.handlers.pop(str(name), None)
        return removed


def _unreachable(params: dict[str, Any], context: ToolContext) -> ToolOutput:
    raise ToolError("a Lua tool must be run by the Tool global")


def _matches(tool: dict[str, Any], filter_data: dict[str, Any] | None) -> bool:
    if not filter_data:
        return True
    category = filter_data.get("category")
    if category is not None and tool["category"] != str(category):
        return False
    tag = filter_data.get("tag")
    if tag is not None and str(tag).lower() not in str(tool["description"]).lower():
        return False
    name = filter_data.get("name")
    return name is None or str(name).lower() in str(tool["name"]).lower()


def _parse_parameters(tool: str, raw: Any) -> tuple[Param, ...]:
    """Accept a list ``{{name=, type=, required=, ...}}``, a JSON-schema object
    ``{type="object", properties={...}, required={...}}`` or a map ``{name={type=...}}``."""
    if raw is None or raw in ({}, []):
        return ()
    entries: list[tuple[str, dict[str, Any]]] = []
    required_names: set[str] = set()
    if isinstance(raw, list):
        for i, item in enumerate(raw, 1):
            if not isinstance(item, dict) or not isinstance(item.get("name"), str):
                raise ScriptError(
                    f"Tool.register('{tool}'): parameter #{i} needs a name "
                    "({name = 'x', type = 'string', required = true})"
                )
            entries.append((item["name"], item))
    elif isinstance(raw, dict):
        props = raw.get("properties") if raw.get("type") == "object" else None
        if isinstance(props, dict):
            required_names = {str(r) for r in raw.get("required") or []}
            source = props
        else:
            source = raw
        for key, item in source.items():
            if not isinstance(item, dict):
                raise ScriptError(
                    f"Tool.register('{tool}'): parameter '{key}' must be a table like "
                    "{type = 'string', required = true}"
                )
            entries.append((str(key), item))
    else:
        raise ScriptError(f"Tool.register('{tool}'): 'parameters' must be a table")
    params = []
    for pname, item in entries:
        kind = str(item.get("type", "any")).lower()
        if kind not in TYPES:
            raise ScriptError(
                f"Tool.register('{tool}'): parameter '{pname}' has unknown type '{kind}'; "
                f"use one of {', '.join(TYPES)}"
            )
        enum = item.get("enum")
        params.append(
            Param(
                name=pname,
                type=kind,
                description=str(item.get("description", "")),
                required=bool(item.get("required")) or pname in required_names,
                default=item.get("default"),
                enum=tuple(enum) if isinstance(enum, list) else None,
            )
        )
    return tuple(params)


def install(runtime: ScriptRuntime) -> None:
    """Define the ``Tool`` global."""
    tools = ToolGlobal(runtime)
    runtime.add_closer(tools.handlers.clear)
    host = runtime.lua.table()
    host.execute = runtime.host_function("Tool.execute", tools.execute)
    host.info = runtime.host_function("Tool.get_info", tools.info)
    host.schema = runtime.host_function("Tool.get_schema", tools.schema)
    host.exists = runtime.host_function("Tool.exists", tools.exists)
    host.available = runtime.host_function("Tool.is_available", tools.available)
    host.list = runtime.host_function("Tool.list", tools.list_tools)
    host.discover = runtime.host_function("Tool.discover", tools.discover)
    host.categories = runtime.host_function("Tool.categories", tools.categories)
    host.register = runtime.host_function("Tool.register", tools.register)
    host.unregister = runtime.host_function("Tool.unregister", tools.unregister)
    module = runtime.load_lua(
        "kernel_core.runtime.globals", "tool.lua", host, runtime.api, runtime.mux
    )
    tools.call_handler = module.call_handler
    runtime.set_global("Tool", module.Tool)
    runtime.host.tool_names = tools.names
