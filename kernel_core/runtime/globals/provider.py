"""The ``Provider`` global: which LLM providers this runtime knows and whether they are usable.

Nothing here touches the network: a provider is "available" when its configuration is
complete (the local provider always is).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from kernel_core.runtime.providers.registry import ProviderInfo, ProviderRegistry
    from kernel_core.runtime.script_runtime import ScriptRuntime


def _capabilities(info: ProviderInfo) -> dict[str, Any]:
    caps: dict[str, Any] = {
        "supports_streaming": True,
        "supports_multimodal": False,
        "supports_tools": True,
        "available_models": [info.model] if info.model else [],
    }
    return caps


def _entry(info: ProviderInfo, *, models: bool = True) -> dict[str, Any]:
    caps = _capabilities(info)
    if not models:
        caps.pop("available_models")
    entry: dict[str, Any] = {
        "name": info.instance_key,
        "provider": info.name,
        "type": info.kind,
        "model": info.model,
        "enabled": info.available,
        "capabilities": caps,
    }
    if info.base_url:
        entry["base_url"] = info.base_url
    if info.problem:
        entry["problem"] = info.problem
    return entry


def install(runtime: ScriptRuntime) -> None:
    """Define the ``Provider`` global."""
    made: list[ProviderRegistry] = []

    def registry() -> ProviderRegistry:
        # imported on first use: the provider modules cost several ms at startup
        if not made:
            from kernel_core.runtime.providers.registry import ProviderRegistry

            made.append(ProviderRegistry(runtime.config))
        return made[0]

    def find(name: Any) -> ProviderInfo | None:
        text = str(name)
        info = registry().info(text)
        if info is not None:
            return info
        # an instance key such as "http/openai/gpt-4o-mini", as Provider.list names them
        for candidate in registry().names():
            found = registry().info(candidate)
            if found is not None and text in (found.instance_key, f"{found.name}/{found.model}"):
                return found
        return None

    def provider_list() -> list[dict[str, Any]]:
        return [_entry(info) for n in registry().names() if (info := registry().info(n))]

    def get(name: Any) -> dict[str, Any] | None:
        info = find(name)
        return _entry(info, models=False) if info else None

    def capabilities(name: Any) -> dict[str, Any] | None:
        info = find(name)
        return _capabilities(info) if info else None

    def is_available(name: Any) -> bool:
        info = find(name)
        return bool(info and info.available)

    table = runtime.lua.table()
    listed = runtime.host_function("Provider.list", provider_list)
    table.list = runtime.lua.eval(
        "function(listed, entries) return function() return entries(listed()) end end"
    )(listed, runtime.api.provider_entries)
    by_name = runtime.lua.eval(
        "function(fn, name_of) return function(name) return fn(name_of(name)) end end"
    )
    name_of = runtime.api.provider_name
    table.get = by_name(runtime.host_function("Provider.get", get), name_of)
    table.getCapabilities = by_name(
        runtime.host_function("Provider.getCapabilities", capabilities), name_of
    )
    table.isAvailable = by_name(
        runtime.host_function("Provider.isAvailable", is_available), name_of
    )
    table.default = runtime.host_function("Provider.default", lambda: registry().default)
    runtime.set_global("Provider", table)
