"""The request parameters every route module shares: path names, the caller, the app state.

Kept apart from the route modules so that each of them imports this, and none imports
another (``routes`` and ``state_routes`` both serve under the same rules).
"""

from __future__ import annotations

import asyncio
import re
from typing import Annotated

from fastapi import Depends, Header, Path, Request

from promptctl.api.state import ApiState
from promptctl.env_names import ENV_NAME_PATTERN
from promptctl.model import NAME_CHARS
from promptctl.tokens import Principal

# The core's name rules, anchored for JSON Schema and pydantic, where ``$`` ends the text
ENV_NAME = f"^{ENV_NAME_PATTERN}$"
NAME = f"^{NAME_CHARS}$"
EnvPath = Annotated[str, Path(pattern=ENV_NAME, description="Environment name")]
NamePath = Annotated[str, Path(pattern=NAME, description="Prompt name")]
PRINTABLE = r"^[^\x00-\x1f\x7f-\x9f]*$"  # no C0/C1 control characters, no DEL
CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
MAX_ID = 2**31 - 1  # ids are 32-bit integers in the database: larger ones cannot exist


async def api(request: Request) -> ApiState:
    """Async so FastAPI does not hop to a worker thread just to read app state."""
    return request.app.state.api  # type: ignore[no-any-return]


async def principal(request: Request,
                    authorization: Annotated[str | None, Header()] = None) -> Principal:
    """The caller; answered from memory when the token was seen in the last seconds."""
    authenticate = (await api(request)).authenticate
    cached = authenticate.cached(authorization)
    if cached is not None:
        return cached
    return await asyncio.to_thread(authenticate, authorization)


State = Annotated[ApiState, Depends(api)]
Caller = Annotated[Principal, Depends(principal)]
