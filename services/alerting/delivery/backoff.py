"""When to retry a failed webhook: exponential backoff with jitter, capped."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class RetryPolicy:
    max_attempts: int
    base_s: float
    """The delay after the first failure (before jitter); it doubles per failure."""
    max_s: float

    def gives_up_after(self, attempts: int) -> bool:
        return attempts >= self.max_attempts

    def delay(self, attempts: int, jitter: float) -> float:
        """Seconds before the next attempt, after ``attempts`` failed ones; ``jitter`` in
        [0.5, 1.0] spreads subscribers that failed together (an outage) apart."""
        return min(self.max_s, self.base_s * 2.0 ** (attempts - 1)) * jitter
