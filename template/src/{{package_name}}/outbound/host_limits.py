"""How often outbound requests may go to one host: so that nobody can use this service to hammer a host."""

import time
from collections import deque
from collections.abc import Callable

WINDOW_SECONDS = 60.0
# Hosts remembered at most; beyond, those without a recent request are forgotten first.
MAX_HOSTS = 10_000


class HostLimits:
    """At most PER_MINUTE requests to each host in any minute, in this process."""

    def __init__(self, per_minute: int, clock: Callable[[], float] = time.monotonic) -> None:
        self.per_minute = per_minute
        self.clock = clock
        self._recent: dict[str, deque[float]] = {}

    def allow(self, host: str) -> bool:
        """Whether a request to HOST may go now; if it may, it is counted."""
        now = self.clock()
        recent = self._recent.setdefault(host.lower(), deque())
        while recent and recent[0] <= now - WINDOW_SECONDS:
            recent.popleft()
        if len(recent) >= self.per_minute:
            return False
        recent.append(now)
        if len(self._recent) > MAX_HOSTS:
            self._forget_idle(now)
        return True

    def _forget_idle(self, now: float) -> None:
        for host in [host for host, times in self._recent.items() if not times or times[-1] <= now - WINDOW_SECONDS]:
            del self._recent[host]
        # Hosts all busy: the oldest go, which lets them be asked a little sooner, never the service grow.
        while len(self._recent) > MAX_HOSTS:
            del self._recent[next(iter(self._recent))]
