"""Configuration: schema, profiles and the layered loader."""

from __future__ import annotations

from kernel_core.config.loader import Config, load_config

__all__ = ["Config", "load_config"]
