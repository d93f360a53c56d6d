"""The ``anthropic`` eval provider: the bundle's call through the official ``anthropic`` SDK.

The request is exactly ``bundle.anthropic()`` (Messages: the system prompt apart, every
turn, tools as ``input_schema``, the output schema as ``output_config``).

Settings (a suite's ``provider.settings``; none of them a credential): ``base_url``, or
``base_url_env`` naming the variable that holds it (default ``$ANTHROPIC_BASE_URL``, else
the SDK's default); ``api_key_env``, the variable holding the key (default
``ANTHROPIC_API_KEY``); ``headers`` (extra HTTP headers). The target
(``--provider anthropic:MODEL``) replaces the model id the bundle pins.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import anthropic

from promptctl.evals.providers.base import ProviderRequest, ProviderResponse
from promptctl.evals.providers.vendor import (
    CallArgs,
    call,
    credentials,
    public_settings,
    public_url,
    response_of,
    string_settings,
)

SETTINGS = ("base_url", "base_url_env", "api_key_env", "headers")


def create(target: str | None, settings: dict[str, Any], base: Path) -> AnthropicProvider:
    return AnthropicProvider(target, settings)


class AnthropicProvider:
    type = "anthropic"
    cacheable = True

    def __init__(self, target: str | None, settings: dict[str, Any]) -> None:
        self.target = target or None
        self.settings = string_settings(self.type, settings, SETTINGS)
        creds = credentials(self.type, self.settings, key_env="ANTHROPIC_API_KEY",
                            url_env="ANTHROPIC_BASE_URL")
        self.base_url = creds.base_url
        self.client = anthropic.Anthropic(api_key=creds.api_key, base_url=self.base_url,
                                          max_retries=0,
                                          default_headers=self.settings.get("headers"))
        self.kwargs = CallArgs("anthropic", target=self.target)

    def identity(self) -> dict[str, Any]:
        return {"type": self.type, "target": self.target,
                "base_url": public_url(self.base_url), "settings": public_settings(self.settings)}

    def complete(self, request: ProviderRequest) -> ProviderResponse:
        kwargs = self.kwargs(request)  # a bundle the API cannot take raises here, unsent
        answer = call(self.type, anthropic, lambda: self.client.messages.create(
            **kwargs))
        return response_of(self.type, answer, "input_tokens", "output_tokens")
