"""When the hub wakes its subscribers' writers: in rounds, a moment after the first frame.

A subscriber asks for a wake-up when its buffer goes from empty to non-empty. The pacer holds
those requests for a coalescing window, so frames that arrive within it leave in one write, and
starts no round before the previous round's cost has passed since it began, so under a burst
frames pile up into fewer, fuller writes instead of rounds chasing each event. A round wakes
its writers in slices, leaving the loop to requests in between. How each rule was measured:
`docs/PERFORMANCE.md`, steps 1, 4 and 8.
"""

from __future__ import annotations

import asyncio
import time
from typing import Protocol

WAKE_SLICE = 256
"""Writers woken per turn of the event loop."""


class Sleeper(Protocol):
    """A subscriber as the pacer sees it."""

    round: int
    """The round it was woken in and has not yet written (0: none)."""

    @property
    def waiting(self) -> bool:
        """Its writer is asleep until it is woken."""
        ...

    def wake(self) -> None: ...


class RoundPacer:
    def __init__(self, coalesce_window: float = 0.002) -> None:
        self.coalesce_window = coalesce_window
        """Seconds to hold a first frame so the frames right behind it share its write."""
        self.round = 0
        self._waking: list[Sleeper] = []
        self.started = 0.0
        """When the last round began, on the loop's clock."""
        self.unwritten = 0
        """Writers of the current round that have not written yet."""
        self._cpu = 0.0
        self.cost = 0.0
        """CPU seconds the loop spent from the start of the last round until all its writers had
        written (other work interleaved with it included: that is what it held up)."""

    def request_wake(self, subscriber: Sleeper) -> None:
        """`subscriber` has frames to write; it is woken with the next round."""
        if not self._waking:
            loop = asyncio.get_running_loop()
            start = max(loop.time() + self.coalesce_window, self.started + self.cost)
            loop.call_at(start, self._start_round)
        self._waking.append(subscriber)

    def written(self, subscriber: Sleeper) -> None:
        """`subscriber` wrote (or left) the round it was woken in."""
        if subscriber.round != self.round:
            return
        subscriber.round = 0
        self.unwritten -= 1
        if self.unwritten == 0:
            # CPU time, not wall time: another process taking our core must not stretch it.
            self.cost = time.thread_time() - self._cpu

    def _start_round(self) -> None:
        waking, self._waking = self._waking, []
        self.round += 1
        self.started = asyncio.get_running_loop().time()
        self._cpu = time.thread_time()
        # Count only writers asleep now: they write this round. One still busy sending to a
        # slow client takes its frames whenever it gets there, and must not hold the round.
        left = 0
        for subscriber in waking:
            if subscriber.waiting:
                subscriber.round = self.round
                left += 1
        self.unwritten = left
        self._wake(waking, 0)

    def _wake(self, waking: list[Sleeper], start: int) -> None:
        """One slice of a round. The next slice is queued behind this slice's writers, so the
        loop polls its sockets in between and requests keep flowing during a big round."""
        end = start + WAKE_SLICE
        for subscriber in waking[start:end]:
            subscriber.wake()
        if end < len(waking):
            asyncio.get_running_loop().call_soon(self._wake, waking, end)
