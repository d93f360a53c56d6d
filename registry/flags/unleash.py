"""The Unleash flag backend: rollout state written as feature flags through Unleash's Admin API.

One flag per (promptctl environment, prompt), named ``promptctl.<env>.<prompt>``, in one Unleash
project and one Unleash environment (``development`` by default). A flag per promptctl
environment, rather than a promptctl environment per Unleash environment, because open-source
Unleash has only ``development`` and ``production`` while promptctl has ``staging`` too and lets
users add more; a client token for that one Unleash environment reads every flag.

The flag holds at most two ``flexibleRollout`` strategies, evaluated in order:

1. ``promptctl canary`` (only while there is a canary): ``rollout`` = percent, the state's
   stickiness, ``groupId`` = prompt name, and one strategy variant ``canary`` whose string
   payload is the canary version. Same hash, same bucket as :func:`promptctl.bucketing.in_rollout`.
2. ``promptctl stable``: 100 %, one strategy variant ``stable`` whose payload is the stable version.

So ``UnleashClient.get_variant(flag)`` tells a reader which version a key gets and whether it is
the canary (see :mod:`promptctl.flags.unleash_reader`). Rollback is just another publish: with no
canary the canary strategy is deleted and everyone gets the stable variant. The flag is owned by
promptctl: any other strategy found on it is removed, since it would change who gets what.
The registry database stays the record of versions and audit; Unleash only serves the state.
"""

from __future__ import annotations

from typing import Any

import httpx

from promptctl.errors import BackendUnavailable
from promptctl.flags.base import FlagState
from promptctl.urls import redact_url

FLAG_PREFIX = "promptctl"
CANARY, STABLE = "canary", "stable"
STRATEGY_TITLES = {CANARY: "promptctl canary", STABLE: "promptctl stable"}
DEFAULT_TIMEOUT_S = 10.0


def flag_name(env: str, prompt: str) -> str:
    """The Unleash flag that carries ``prompt``'s rollout in promptctl environment ``env``."""
    return f"{FLAG_PREFIX}.{env}.{prompt}"


def api_url(url: str) -> str:
    """Unleash's API root (``.../api``), whether or not the configured URL already ends in it."""
    url = url.rstrip("/")
    return url if url.endswith("/api") else f"{url}/api"


def strategy_body(kind: str, state: FlagState, version: str, percent: int) -> dict[str, Any]:
    """A ``flexibleRollout`` strategy whose single variant names ``version``."""
    return {
        "name": "flexibleRollout",
        "title": STRATEGY_TITLES[kind],
        "sortOrder": 0 if kind == CANARY else 1,
        "disabled": False,
        "constraints": [],
        "parameters": {"rollout": str(percent), "stickiness": state.stickiness,
                       "groupId": state.group_id},
        "variants": [{"name": kind, "weight": 1000, "weightType": "variable",
                      "stickiness": state.stickiness,
                      "payload": {"type": "string", "value": version}}],
    }


def desired_strategies(state: FlagState) -> dict[str, dict[str, Any]]:
    """The strategies ``state`` needs, by kind: the canary only while there is one."""
    wanted: dict[str, dict[str, Any]] = {}
    if state.canary is not None and state.percent > 0:
        wanted[CANARY] = strategy_body(CANARY, state, state.canary, state.percent)
    if state.stable is not None:
        wanted[STABLE] = strategy_body(STABLE, state, state.stable, 100)
    return wanted


class UnleashFlagBackend:
    """Publishes :class:`FlagState` to an Unleash server with an admin API token."""

    name = "unleash"

    def __init__(self, url: str, admin_token: str, project: str = "default",
                 environment: str = "development", timeout: float = DEFAULT_TIMEOUT_S) -> None:
        self.url = api_url(url)
        self.project = project
        self.environment = environment
        self._http = httpx.Client(
            base_url=self.url, timeout=timeout,
            headers={"Authorization": admin_token, "Content-Type": "application/json"},
        )

    def publish(self, state: FlagState) -> None:
        """Make the flag for ``(state.env, state.prompt)`` serve exactly ``state``.

        Order matters for readers polling meanwhile: the strategies we keep are written first
        (stable updated in place, canary in front of it), stale ones deleted after, so no
        reader ever sees a flag without a version.
        """
        name = flag_name(state.env, state.prompt)
        self._ensure_flag(name, state)
        wanted = desired_strategies(state)
        existing = self._strategies(name)
        by_title = {s.get("title"): s for s in existing}
        for kind in (STABLE, CANARY):
            if kind not in wanted:
                continue
            current = by_title.get(STRATEGY_TITLES[kind])
            if current is None:
                self._call("POST", self._strategies_path(name), json=wanted[kind])
            else:
                self._call("PUT", f"{self._strategies_path(name)}/{current['id']}",
                           json=wanted[kind])
        keep = {STRATEGY_TITLES[kind] for kind in wanted}
        for strategy in existing:
            if strategy.get("title") not in keep:
                self._call("DELETE", f"{self._strategies_path(name)}/{strategy['id']}")
        switch = "on" if wanted else "off"
        self._call("POST", f"{self._env_path(name)}/{switch}")

    def close(self) -> None:
        self._http.close()

    # -- Admin API --------------------------------------------------------------------------

    def _feature_path(self, name: str) -> str:
        return f"/admin/projects/{self.project}/features/{name}"

    def _env_path(self, name: str) -> str:
        return f"{self._feature_path(name)}/environments/{self.environment}"

    def _strategies_path(self, name: str) -> str:
        return f"{self._env_path(name)}/strategies"

    def _ensure_flag(self, name: str, state: FlagState) -> None:
        if self._call("GET", self._feature_path(name), allow=(404,)).status_code != 404:
            return
        body = {"name": name, "type": "release", "impressionData": False,
                "description": f"promptctl rollout of prompt {state.prompt!r} in "
                               f"environment {state.env!r}; managed by promptctl"}
        # 409: another writer created it between our GET and POST, which is fine.
        self._call("POST", f"/admin/projects/{self.project}/features", json=body, allow=(409,))

    def _strategies(self, name: str) -> list[dict[str, Any]]:
        response = self._call("GET", self._strategies_path(name))
        return list(response.json())

    def _call(self, method: str, path: str, *, json: Any = None,
              allow: tuple[int, ...] = ()) -> httpx.Response:
        try:
            response = self._http.request(method, path, json=json)
        except httpx.HTTPError as exc:
            raise BackendUnavailable(
                redact_url(f"Unleash at {self.url} is unreachable: {type(exc).__name__}: {exc}")
            ) from exc
        if response.is_success or response.status_code in allow:
            return response
        raise BackendUnavailable(_refusal(response, method, path))


def _refusal(response: httpx.Response, method: str, path: str) -> str:
    """One line saying what Unleash refused and why, from its JSON error when it sends one."""
    status = response.status_code
    if status in (401, 403):
        return (f"Unleash refused the admin token ({status}) for {method} {path}: "
                "PROMPTCTL_UNLEASH_TOKEN must be an admin API token")
    try:
        detail = response.json().get("message") or response.text
    except ValueError:
        detail = response.text
    detail = " ".join(str(detail).split())[:300]
    return f"Unleash answered {status} to {method} {path}: {detail}"
