"""Which provider answers a model string, from the ``[providers]`` configuration.

``"ollama/llama3.1:8b"`` names provider ``ollama``, model ``llama3.1:8b`` (split at the first
``/``); a bare model uses ``[providers] default``. A provider configured with a ``base_url``
is an OpenAI-compatible HTTP endpoint; ``type = "local"`` is the local provider; a name with
no endpoint configured (``openai/gpt-4o-mini`` on a machine with nothing set up) is answered
by the local provider so that every script runs offline.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from kernel_core.runtime.providers.base import ChatProvider, ProviderError
from kernel_core.runtime.providers.local_provider import LOCAL_MODEL, LocalProvider

if TYPE_CHECKING:
    from kernel_core.config import Config

log = logging.getLogger(__name__)

LOCAL = "local"


def split_model(model: str) -> tuple[str | None, str]:
    """``"provider/model"`` → (provider, model); a bare model → (None, model)."""
    provider, sep, rest = model.partition("/")
    if not sep:
        return None, model
    return provider, rest


@dataclass(frozen=True)
class Route:
    """The provider that serves an agent, and what was asked for."""

    provider: ChatProvider
    provider_name: str
    model: str
    fallback: bool = False

    @property
    def answering_model(self) -> str:
        """The model that actually answers (the local model when falling back)."""
        return LOCAL_MODEL if self.provider.kind == "local" else self.model


@dataclass(frozen=True)
class ProviderInfo:
    """What ``Provider.list`` shows about one provider."""

    name: str
    kind: str
    model: str
    base_url: str
    available: bool
    problem: str = ""

    @property
    def instance_key(self) -> str:
        """``impl/provider/model`` as LLMSpell names provider instances."""
        impl = "builtin" if self.kind == "local" else "http"
        return "/".join(p for p in (impl, self.name, self.model) if p)


class ProviderRegistry:
    """The providers of one runtime, built lazily from configuration."""

    def __init__(self, config: Config) -> None:
        # read live: Config.setProvider may add or change a provider during a run
        self._config = config
        self._built: dict[tuple[str, ...], ChatProvider] = {}
        self._fallback_noted: set[str] = set()

    @property
    def default(self) -> str:
        """The provider of a model string without a ``provider/`` part."""
        return str(self._config.get("providers", "default") or LOCAL)

    @property
    def _configs(self) -> dict[str, dict[str, Any]]:
        return self._config.providers()

    def names(self) -> list[str]:
        """Configured provider names, the default first, and ``local``."""
        names = sorted(self._configs, key=lambda n: (n != self.default, n))
        if LOCAL not in names:
            names.append(LOCAL)
        return names

    def info(self, name: str) -> ProviderInfo | None:
        """Description of a configured provider (or ``local``); None if unknown."""
        if name == LOCAL and name not in self._configs:
            return ProviderInfo(LOCAL, "local", LOCAL_MODEL, "", True)
        settings = self._configs.get(name)
        if settings is None:
            return None
        if settings["type"] == "local":
            return ProviderInfo(name, "local", LOCAL_MODEL, "", True)
        problem = ""
        if not settings["base_url"]:
            problem = f"no base_url configured: set [providers.{name}] base_url"
        else:
            try:
                self._api_key(name, settings)
            except ProviderError as exc:
                problem = str(exc)
        return ProviderInfo(
            name, "http", settings["model"], settings["base_url"], not problem, problem
        )

    def resolve(
        self,
        provider: str | None,
        model: str | None,
        *,
        base_url: str | None = None,
        api_key: str | None = None,
    ) -> Route:
        """The route for an agent's provider and model (raises ProviderError on bad config).

        ``base_url``/``api_key`` given by the script (builder ``:base_url``) override the
        configuration for this agent.
        """
        name = provider or self.default
        model = model or ""
        settings = self._configs.get(name)
        if base_url:
            merged = dict(settings or {})
            merged.update(type="openai", base_url=base_url, timeout=merged.get("timeout", 60.0))
            key = api_key if api_key is not None else self._api_key(name, merged)
            chosen = self._http(name, merged, key)
            return Route(chosen, name, model or merged.get("model", ""))
        if settings is None:
            if name != LOCAL and name not in self._fallback_noted:
                self._fallback_noted.add(name)
                log.debug(
                    "provider '%s' has no endpoint configured; the local provider answers "
                    "(set [providers.%s] base_url to use a real model)",
                    name,
                    name,
                )
            return Route(self._local(LOCAL), LOCAL, model, fallback=name != LOCAL)
        if settings["type"] == "local":
            return Route(self._local(name), name, model)
        if not settings["base_url"]:
            if name not in self._fallback_noted:
                self._fallback_noted.add(name)
                log.debug("provider '%s' has no base_url; the local provider answers", name)
            return Route(self._local(LOCAL), LOCAL, model, fallback=True)
        model = model or settings["model"]
        if not model:
            raise ProviderError(
                f"Model is required: name one with :model('{name}/MODEL') or set "
                f"[providers.{name}] model"
            )
        if api_key is not None:  # this agent's own key: a provider of its own
            return Route(self._http(name, settings, api_key), name, model)
        built = (name, settings["base_url"], str(settings["timeout"]), settings["model"])
        if built not in self._built:
            self._built[built] = self._http(name, settings, self._api_key(name, settings))
        return Route(self._built[built], name, model)

    def _local(self, name: str) -> ChatProvider:
        if (name,) not in self._built:
            self._built[(name,)] = LocalProvider(name)
        return self._built[(name,)]

    @staticmethod
    def _http(name: str, settings: dict[str, Any], key: str) -> ChatProvider:
        from kernel_core.runtime.providers.openai_http import OpenAIHttpProvider

        return OpenAIHttpProvider(
            name,
            settings["base_url"],
            api_key=key,
            model=settings.get("model", ""),
            timeout=float(settings.get("timeout", 60.0)),
        )

    @staticmethod
    def _api_key(name: str, settings: dict[str, Any]) -> str:
        env_name = settings.get("api_key_env") or ""
        if env_name:
            value = os.environ.get(env_name)
            if not value:
                raise ProviderError(
                    f"provider '{name}' needs an API key: the environment variable "
                    f"{env_name} ([providers.{name}] api_key_env) is not set"
                )
            return value
        return str(settings.get("api_key") or "")
