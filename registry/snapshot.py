"""(environment, prompt, key) -> the bundle to use: one evaluation path for API and SDK.

A *snapshot* is a JSON document holding, for one environment, every prompt's
rollout (stable, canary, percent, stickiness) with the bundles of the versions
it serves and their fingerprints, plus the environment's change id (the id of
its latest audit event, which only grows) as the ETag. The server builds it
from the database (:mod:`promptctl.store.snapshot_builder`); the SDK evaluates
it in memory; both evaluate it through :meth:`promptctl.state.State.resolve`, so a
key lands on the same variant everywhere.

This module is what the SDK imports, so it stays pure and light: the standard
library, the bucketing hash, and nothing of the store, pydantic or Jinja2. Bundles
are kept as the plain data they were released as: their JSON Schemas were validated
at release and the fingerprint names that exact content, so they are never
validated again here. Only ``render()`` loads the template engine, on first use.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from functools import cached_property
from typing import TYPE_CHECKING, Any, NamedTuple

from promptctl.errors import ValidationError

if TYPE_CHECKING:  # loaded on the first render() only
    from promptctl.model import Prompt
    from promptctl.providers.answers import OutputCheck, ParsedOutput

__all__ = ["SNAPSHOT_FORMAT", "ReleasedBundle", "ResolvedBundle", "shared_bundle",
           "snapshot_etag"]

SNAPSHOT_FORMAT = 1
_BUNDLE_CACHE_SIZE = 20_000

# Bundles by fingerprint, shared by every snapshot in the process. Released versions are
# immutable, so a new snapshot (say, after a rollback) reuses the bundles it already has,
# with the template objects their first render() built.
_bundles: dict[str, ReleasedBundle] = {}
# Model sections by content, shared by the bundles that pin the same model (read-only).
_models: dict[str, Mapping[str, Any]] = {}
_MAX_SHARED_MODELS = 4096


class ReleasedBundle:
    """A released bundle as plain data: ``{prompt, model, tools, index}`` content dicts.

    Immutable by contract (nothing here writes to ``data``); read it through the
    properties of :class:`ResolvedBundle`. A bundle from a state's bundle store is kept as
    its canonical bytes (``raw``, the bytes its fingerprint is the SHA-256 of) and parsed on
    demand: only the small ``model``/``tools``/``index`` parts are kept parsed, so a bundle
    in use costs about its own size in memory, not the five times a parsed copy takes.
    """

    def __init__(self, fingerprint: str, data: Mapping[str, Any] | None = None, *,
                 raw: bytes | None = None) -> None:
        if data is None and raw is None:
            raise TypeError("a ReleasedBundle needs its data or its raw bytes")
        self.fingerprint = fingerprint
        self._data = data
        self.raw = raw

    @property
    def data(self) -> Mapping[str, Any]:
        if self._data is not None:
            return self._data
        assert self.raw is not None
        try:
            data = json.loads(self.raw)
            _check_shape(data)
        except (ValueError, KeyError, TypeError) as exc:
            raise ValidationError(f"invalid bundle {self.fingerprint[:12]}: {exc!r}") from None
        return data  # type: ignore[no-any-return]

    @cached_property
    def model(self) -> Mapping[str, Any]:
        """The model section (provider, model id, params), parsed once: small, and read on
        every call; bundles pinning the same model share one copy. Tools and the index are
        parsed when asked for (their schemas can be large), so a bundle in use stays about
        its own size in memory."""
        model: Mapping[str, Any] = self.data["model"]
        key = json.dumps(model, sort_keys=True)
        shared = _models.get(key)
        if shared is None and len(_models) < _MAX_SHARED_MODELS:
            shared = _models[key] = model
        return shared or model

    @property
    def head(self) -> tuple[Mapping[str, Any], list[Any], Mapping[str, Any] | None]:
        """``(model, tools, index)``."""
        if self._data is not None:
            return self._data["model"], self._data["tools"], self._data.get("index")
        data = self.data
        return self.model, data["tools"], data.get("index")

    def to_dict(self) -> dict[str, Any]:
        """The canonical bundle document that the fingerprint covers."""
        return dict(self.data)

    @cached_property
    def prompt(self) -> Prompt:
        """The prompt as the model object the template engine renders, built on first use
        without validation (``model_construct``): it was validated when it was released."""
        from promptctl.model import prompt_from_content

        return prompt_from_content(self.data["prompt"])

    def render(self, **values: Any) -> list[dict[str, str]]:
        from promptctl.templating import render_prompt, snippet_texts

        return render_prompt(self.prompt, values,
                             snippets=snippet_texts(self.data.get("snippets")))


def _check_shape(data: Mapping[str, Any]) -> None:
    """The fields every reader of a bundle relies on, checked once at load (cheaply:
    the content itself is trusted, see the module docstring)."""
    prompt, model = data["prompt"], data["model"]
    if not isinstance(prompt, Mapping) or not isinstance(prompt["template"], Mapping):
        raise TypeError("a bundle's prompt must be an object with a template")
    if not isinstance(model, Mapping) or not (model["provider"] and model["model"]):
        raise TypeError("a bundle's model must name a provider and a model")
    if not isinstance(data["tools"], list) or not isinstance(data.get("index") or {}, Mapping):
        raise TypeError("a bundle's tools must be a list and its index an object")


def shared_bundle(fingerprint: str, data: Mapping[str, Any]) -> ReleasedBundle:
    """The process-wide bundle of ``fingerprint`` (one per fingerprint, however many
    snapshots carry it), after checking the document's shape."""
    _check_shape(data)  # also on a cache hit: a broken document fails the same way every time
    bundle = _bundles.get(fingerprint)
    if bundle is None:
        bundle = ReleasedBundle(fingerprint, data)
        if len(_bundles) >= _BUNDLE_CACHE_SIZE:
            _bundles.clear()
        _bundles[fingerprint] = bundle
    return bundle


class ResolvedBundle:
    """The version of a prompt that one key gets, ready to render and to log.

    Immutable by contract; a plain class rather than a dataclass, whose decorator alone
    would cost the SDK's import a few milliseconds.
    """

    def __init__(self, env: str, name: str, version: str, variant: str, fingerprint: str,
                 bundle: ReleasedBundle, change_id: int = 0) -> None:
        self.env = env
        self.name = name
        self.version = version
        self.variant = variant  # "stable" | "canary"
        self.fingerprint = fingerprint
        self.bundle = bundle
        self.change_id = change_id

    def __repr__(self) -> str:
        return (f"ResolvedBundle({self.env}/{self.name}@{self.version} {self.variant} "
                f"{self.fingerprint[:12]})")

    def render(self, **values: Any) -> list[dict[str, str]]:
        """Chat messages ``[{role, content}]``; variables are type-checked."""
        return self.bundle.render(**values)

    @property
    def model(self) -> str:
        """The provider's model id (e.g. ``gpt-4o-mini-2024-07-18``)."""
        return str(self.bundle.model["model"])

    @property
    def provider(self) -> str:
        return str(self.bundle.model["provider"])

    @property
    def params(self) -> dict[str, Any]:
        return dict(self.bundle.model.get("params") or {})

    @property
    def tools(self) -> list[dict[str, Any]]:
        """Function definitions to pass to the model: name, description, parameters."""
        return [{"name": t["name"], "description": t["description"],
                 "parameters": t["parameters"]} for t in self.bundle.head[1]]

    @property
    def index(self) -> dict[str, Any] | None:
        index = self.bundle.head[2]
        return dict(index) if index else None

    @property
    def output_schema(self) -> dict[str, Any] | None:
        schema: dict[str, Any] | None = self.bundle.data["prompt"].get("output_schema")
        return schema

    @property
    def variables(self) -> dict[str, Any]:
        return dict(self.bundle.data["prompt"].get("variables") or {})

    @property
    def templates(self) -> dict[str, Any]:
        """``system`` and ``user``; and ``messages``, every declared message and
        placeholder in order, for a prompt written with ``template.messages``."""
        template = self.bundle.data["prompt"]["template"]
        out: dict[str, Any] = {"system": template.get("system"), "user": template.get("user")}
        if template.get("messages") is not None:
            out["messages"] = template["messages"]
        return out

    def trace(self) -> dict[str, Any]:
        """What to log with each LLM call so its output can be traced to this bundle."""
        return {"prompt": self.name, "version": self.version, "variant": self.variant,
                "fingerprint": self.fingerprint, "env": self.env,
                "model": f"{self.provider}/{self.model}", "change_id": self.change_id}

    def span_attributes(self) -> dict[str, Any]:
        """OpenTelemetry attributes of a call made with this bundle: the GenAI semantic
        conventions' names where they define one, ``promptctl.*`` for the rest
        (:mod:`promptctl.span_attributes`)."""
        from promptctl.span_attributes import span_attributes

        return span_attributes(self)

    # --- provider call arguments (promptctl.providers: no vendor SDK is imported) ---

    def openai(self, **values: Any) -> dict[str, Any]:
        """Keyword arguments for ``OpenAI().chat.completions.create(**kwargs)``."""
        return self._call_kwargs("openai", values)

    def openai_responses(self, **values: Any) -> dict[str, Any]:
        """Keyword arguments for ``OpenAI().responses.create(**kwargs)``."""
        return self._call_kwargs("openai_responses", values)

    def anthropic(self, **values: Any) -> dict[str, Any]:
        """Keyword arguments for ``Anthropic().messages.create(**kwargs)``."""
        return self._call_kwargs("anthropic", values)

    def litellm(self, **values: Any) -> dict[str, Any]:
        """Keyword arguments for ``litellm.completion(**kwargs)``."""
        return self._call_kwargs("litellm", values)

    def _call_kwargs(self, api: str, values: dict[str, Any]) -> dict[str, Any]:
        from promptctl.providers.calls import call_kwargs

        return call_kwargs(api, self.bundle, self.bundle.render(**values))

    def parse(self, response: Any) -> ParsedOutput:
        """The answer's text or validated JSON and its validated tool calls; raises an
        ``OutputError`` subclass on invalid output."""
        from promptctl.providers.answers import parse
        from promptctl.providers.calls import cached

        entry = cached(self.bundle)
        return parse(entry["spec"], entry, response)

    def check_output(self, response: Any) -> OutputCheck:
        """``schema_valid`` / ``tool_args_valid`` of an answer, for outcome counters."""
        from promptctl.providers.answers import check
        from promptctl.providers.calls import cached

        entry = cached(self.bundle)
        return check(entry["spec"], entry, response)

    @cached_property
    def json(self) -> bytes:
        """:meth:`to_dict` serialised once: a bundle is immutable, so the bytes are too."""
        return json.dumps(self.to_dict(), separators=(",", ":")).encode()

    def to_dict(self) -> dict[str, Any]:
        """The resolve endpoint's response body (DESIGN §5)."""
        data = self.bundle.data
        return {"name": self.name, "version": self.version, "variant": self.variant,
                "fingerprint": self.fingerprint, "env": self.env, "change_id": self.change_id,
                "templates": self.templates, "variables": data["prompt"].get("variables", {}),
                "model": data["model"], "tools": data["tools"], "index": data.get("index"),
                "output_schema": self.output_schema}


class _Rollout(NamedTuple):
    name: str
    stable: ResolvedBundle
    canary: ResolvedBundle | None
    percent: int
    stickiness: str
    by_user_id: bool  # default stickiness: a plain key is the userId (the fast path)


def snapshot_etag(env: str, change_id: int) -> str:
    return f'"{env}-{change_id}"'
