"""Dead letters: input that could not be used, kept with the reason.

Examples
--------
>>> DeadLetter(source="metrics.csv:12", reason="non-numeric value", payload="a,b,c").reason
'non-numeric value'
"""

from __future__ import annotations

from pydantic import BaseModel


class DeadLetter(BaseModel):
    source: str
    reason: str
    payload: str
