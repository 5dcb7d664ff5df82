"""The ``openai`` client for any OpenAI-compatible endpoint, and failures in one phrase.

Examples
--------
>>> client("", "m") is None, client("http://127.0.0.1:9/v1", "") is None
(True, True)
>>> failure(ValueError("bad"), 30.0)
'ValueError: "bad"'
"""

from __future__ import annotations

import json
from typing import Any

__all__ = ["client", "failure"]


def client(
    base_url: str, model: str, api_key: str = "", timeout_s: float = 30.0, max_retries: int = 2
) -> Any:
    """An ``openai.OpenAI`` client, or ``None`` when no endpoint or model is configured.

    ``max_retries``: the client's own retries on 429, 5xx and connection errors (with
    back-off). A local server takes any key; the client needs one, so an empty key is sent
    as ``unused``.
    """
    if not (base_url and model):
        return None
    from openai import OpenAI

    return OpenAI(
        base_url=base_url, api_key=api_key or "unused", timeout=timeout_s, max_retries=max_retries
    )


def failure(exc: Exception, timeout_s: float) -> str:
    """What went wrong with a request, in one phrase (``timed out after 30 s``, ``HTTP 429``)."""
    from openai import APIConnectionError, APIStatusError, APITimeoutError

    if isinstance(exc, APITimeoutError):
        return f"timed out after {timeout_s:g} s"
    if isinstance(exc, APIStatusError):
        return f"HTTP {exc.status_code}"
    if isinstance(exc, APIConnectionError):
        return "cannot connect"
    return f"{type(exc).__name__}: {json.dumps(str(exc))[:200]}"
