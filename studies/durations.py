"""Wall-clock budgets as people write them: "3h", "90m", "1h30m", "45s",
"2d 4h", a number of seconds, or a moment ("done by"): an ISO 8601 time
with its offset, e.g. "2026-11-30T18:00:00+01:00"."""
from __future__ import annotations

import datetime
import math
import re

_UNITS = {"d": 86400, "h": 3600, "m": 60, "s": 1}
_PART = re.compile(r"(\d+(?:\.\d+)?)\s*([dhms])")


def parse_duration(text) -> float:
    """Seconds of ``text``; ValueError naming the forms accepted."""
    if isinstance(text, (int, float)) and not isinstance(text, bool) and math.isfinite(text) and text > 0:
        return float(text)
    if isinstance(text, str):
        compact = text.strip().lower().replace(" ", "")
        if re.fullmatch(r"(\d+(?:\.\d+)?[dhms])+", compact):
            seconds = sum(float(n) * _UNITS[u] for n, u in _PART.findall(compact))
            if seconds > 0:
                return seconds
    raise ValueError(f"must be a duration such as '3h', '90m', '1h30m' or a number of seconds (got {text!r})")


def seconds_until(moment, now: datetime.datetime) -> float:
    """Seconds from ``now`` to ``moment`` (ISO 8601 with an offset); ValueError when it is not one, or not ahead."""
    try:
        when = datetime.datetime.fromisoformat(moment) if isinstance(moment, str) else None
    except ValueError:
        when = None
    if when is None or when.tzinfo is None:
        raise ValueError(f"must be a time with its offset, e.g. '2026-11-30T18:00:00+01:00' (got {moment!r})")
    seconds = (when - now).total_seconds()
    if seconds <= 0:
        raise ValueError(f"must be in the future (got {moment!r})")
    return seconds
