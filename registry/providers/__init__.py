"""Provider-exact call arguments from a resolved bundle, and the answer parsed back.

``bundle.openai()``, ``bundle.openai_responses()``, ``bundle.anthropic()`` and
``bundle.litellm()`` return the keyword arguments the official SDKs take as they are;
``bundle.parse(response)`` reads an OpenAI or Anthropic answer back and validates it
against the bundle's ``output_schema`` and tool ``parameters``.

This subpackage belongs to the SDK: it imports no vendor SDK and nothing of the server,
and loads ``jsonschema`` only inside ``parse``. The mapping functions in
:mod:`promptctl.providers.calls` take a :class:`CallSpec` and a message list, so they can
be used (and are tested) without a registry.
"""

from __future__ import annotations

from promptctl.providers.spec import CallSpec

__all__ = ["CallSpec"]
