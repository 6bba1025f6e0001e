"""LLMSpell's built-in tools: what ``Tool.execute(name, params)`` runs.

Each tool is a :class:`~kernel_core.runtime.tools.registry.ToolSpec` (name, category,
parameter schema, a Python ``run`` function). Tools never touch Lua: they take plain data and
return a :class:`~kernel_core.runtime.tools.result.ToolOutput`; the ``Tool`` global shapes it
into the Lua result table (tools.md §2).
"""
