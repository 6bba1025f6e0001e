"""The Lua world: runtime, sandbox, conversion, failures and the LLMSpell globals."""
