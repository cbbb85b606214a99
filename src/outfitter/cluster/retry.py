"""The one retry policy: what is retried, how often, and how long to wait in between.

A 429 (flow control, or a new CRD's storage still initialising), a 5xx and a transport
failure are retried with doubling delays, as kubectl and controllers do; anything else is an
answer. The clock is injectable so that tests run the policy without waiting.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Clock:
    sleep: Callable[[float], None] = time.sleep
    monotonic: Callable[[], float] = time.monotonic


@dataclass(frozen=True)
class RetryPolicy:
    delays: tuple[float, ...] = (0.5, 1.0, 2.0)
    """Waits between attempts: len(delays) + 1 attempts in all."""
    clock: Clock = field(default_factory=Clock)

    @staticmethod
    def retryable_status(code: int) -> bool:
        return code == 429 or code >= 500

    def attempts(self) -> Iterator[int]:
        """Attempt numbers 0, 1, …; waits before each retry. Stop iterating to stop."""
        yield 0
        for number, delay in enumerate(self.delays, start=1):
            self.clock.sleep(delay)
            yield number

    @property
    def tries(self) -> int:
        return len(self.delays) + 1


NO_RETRY = RetryPolicy(delays=())
