"""What every section shares: its settings and the reference names."""

from __future__ import annotations

import math
from dataclasses import dataclass

from ..cfloor import CFloor

STDLIB = "select.epoll"
STDLIB_SELECTOR = "selectors.EpollSelector"
STDLIB_LOOP = "asyncio default loop"


@dataclass
class Settings:
    """One run's choices, as the sections need them."""

    quick: bool
    rounds: int  # interleaved rounds per case
    floor: CFloor


def milliseconds(seconds: float) -> int:
    """A timeout in seconds as epoll_wait's milliseconds, rounded up like the stdlib."""
    return math.ceil(seconds * 1000)
