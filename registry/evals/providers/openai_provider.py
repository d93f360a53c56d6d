"""The ``openai`` eval provider: the bundle's call through the official ``openai`` SDK.

Any OpenAI-compatible server works: OpenAI itself, Azure OpenAI (``azure_endpoint`` and
``api_version``), vLLM, Ollama, a llama.cpp server, a LiteLLM proxy (``base_url``). The
request is exactly ``bundle.openai()`` (Chat Completions: messages, tools,
``response_format``) or, with ``api: responses``, ``bundle.openai_responses()``.

Settings (a suite's ``provider.settings``; none of them a credential):

- ``base_url``, or ``base_url_env`` naming the variable that holds it (default
  ``$OPENAI_BASE_URL``, else the SDK's default);
- ``api_key_env``: the variable holding the key (default ``OPENAI_API_KEY``;
  ``AZURE_OPENAI_API_KEY`` with ``azure_endpoint``);
- ``organization``, ``project``, ``headers`` (extra HTTP headers), ``api`` (``chat`` or
  ``responses``), ``azure_endpoint`` and ``api_version`` (Azure).

The target (``--provider openai:MODEL``) replaces the model id the bundle pins, for a
server that names the model its own way (an Ollama tag, an Azure deployment). With a
``base_url`` a bundle pinning another provider's model is sent in the OpenAI shape; against
OpenAI itself, such a bundle is a one-line error before any call.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import openai

from promptctl.errors import UsageError
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
from promptctl.providers.calls import OPENAI_PROVIDERS
from promptctl.providers.spec import CallSpec

SETTINGS = ("base_url", "base_url_env", "api_key_env", "organization", "project", "headers",
            "api", "azure_endpoint", "api_version")
APIS = {"chat": "openai", "responses": "openai_responses"}
USAGE = {"chat": ("prompt_tokens", "completion_tokens"),
         "responses": ("input_tokens", "output_tokens")}


def create(target: str | None, settings: dict[str, Any], base: Path) -> OpenAIProvider:
    return OpenAIProvider(target, settings)


class OpenAIProvider:
    type = "openai"
    cacheable = True

    def __init__(self, target: str | None, settings: dict[str, Any]) -> None:
        self.target = target or None
        self.settings = string_settings(self.type, settings, SETTINGS)
        self.api = str(self.settings.get("api", "chat"))
        if self.api not in APIS:
            raise UsageError(f"openai provider: settings.api must be chat or responses, not "
                             f"{self.api!r}")
        azure = self.settings.get("azure_endpoint")
        if azure and ("base_url" in self.settings or "base_url_env" in self.settings):
            raise UsageError("openai provider: set azure_endpoint or base_url, not both")
        if azure and "api_version" not in self.settings:
            raise UsageError("openai provider: azure_endpoint needs settings.api_version")
        creds = credentials(self.type, self.settings,
                            key_env="AZURE_OPENAI_API_KEY" if azure else "OPENAI_API_KEY",
                            url_env="OPENAI_BASE_URL")
        self.base_url = None if azure else creds.base_url
        common: dict[str, Any] = {
            "api_key": creds.api_key, "max_retries": 0,
            "organization": self.settings.get("organization"),
            "project": self.settings.get("project"),
            "default_headers": self.settings.get("headers")}
        if azure:
            self.client: openai.OpenAI = openai.AzureOpenAI(
                azure_endpoint=str(azure), api_version=str(self.settings["api_version"]),
                **common)
        else:
            self.client = openai.OpenAI(base_url=self.base_url, **common)
        compatible = self.base_url is not None or bool(azure)
        self.kwargs = CallArgs(APIS[self.api], _as_openai if compatible else None,
                               target=self.target)

    def identity(self) -> dict[str, Any]:
        return {"type": self.type, "target": self.target, "api": self.api,
                "base_url": public_url(self.base_url), "settings": public_settings(self.settings)}

    def complete(self, request: ProviderRequest) -> ProviderResponse:
        kwargs = self.kwargs(request)  # a bundle the API cannot take raises here, unsent
        if self.api == "responses":
            answer = call(self.type, openai, lambda: self.client.responses.create(
                **kwargs))
        else:
            answer = call(self.type, openai, lambda: self.client.chat.completions.create(
                **kwargs))
        return response_of(self.type, answer, *USAGE[self.api])


def _as_openai(spec: CallSpec) -> CallSpec:
    """An OpenAI-compatible server takes any bundle in the OpenAI shape."""
    return spec if spec.provider in OPENAI_PROVIDERS else spec._replace(provider="openai")
