"""Settings: where foreshock keeps its state, overridable by environment or flags.

Examples
--------
>>> import os
>>> os.environ["FORESHOCK_HOME"] = "/tmp/fs-doc"
>>> str(default_home())
'/tmp/fs-doc'
>>> del os.environ["FORESHOCK_HOME"]
"""

from __future__ import annotations

import os
from pathlib import Path


def default_home() -> Path:
    """``$FORESHOCK_HOME``, else ``./.foreshock`` (reports, alerts, dead letters)."""
    return Path(os.environ.get("FORESHOCK_HOME", ".foreshock"))
