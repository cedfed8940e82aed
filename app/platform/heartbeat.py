"""A heartbeat for long-running background work.

A task that holds a claim on a row for minutes (an export streaming its rows) stamps the row with
``now`` every few seconds from a daemon thread, on its own connection and its own short
transactions, so the beat is visible while the task's own transaction is still open. A claim
whose stamp is older than a few beats belongs to a worker that died: the sweeper and the task's
redelivered copy may take it over at once, instead of waiting for the task's time limit.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from types import TracebackType

from sqlalchemy.engine import Connection, Engine

log = logging.getLogger(__name__)


class Heartbeat:
    """Call ``beat(connection)`` every ``interval`` seconds in its own transaction until closed.

    A beat that fails (the database briefly unreachable) is logged and tried again at the next
    interval; the work itself goes on. ``beat`` returns False when the claim is no longer ours
    (another worker took it over): the heartbeat stops and :attr:`lost` turns True.
    """

    def __init__(
        self, engine: Engine, beat: Callable[[Connection], bool], *, interval: float, name: str
    ) -> None:
        self.engine = engine
        self.beat = beat
        self.interval = interval
        self.lost = False
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"heartbeat-{name}", daemon=True)

    def __enter__(self) -> Heartbeat:
        self._thread.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._stop.set()
        self._thread.join(timeout=self.interval + 5)

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                with self.engine.begin() as connection:
                    alive = self.beat(connection)
            except Exception as exc:  # noqa: BLE001 - the next beat tries again
                log.warning("%s: heartbeat failed: %s", self._thread.name, exc)
                continue
            if not alive:
                self.lost = True
                log.warning("%s: the claim was taken over; heartbeat stops", self._thread.name)
                return
