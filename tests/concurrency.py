"""Real parallel requests for the tests of claimed and counted things: threads released together, each with its own
connection and transaction (SQLite file, and PostgreSQL when PORTAL_TEST_DATABASE_URL is set)."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable
from typing import Any

from sqlalchemy.orm import Session

from portal.core.refusals import Refusal

RACERS = 8


def race(app: Any, engine: Any, act: Callable[[Session, int], None], racers: int = RACERS) -> Counter[str]:
    """Run `act` in `racers` threads released together, each committing its own transaction; count the outcomes
    ("done", or the code of the Refusal it raised)."""
    outcomes: Counter[str] = Counter()
    lock = threading.Lock()
    barrier = threading.Barrier(racers)

    def run(index: int) -> None:
        with app.test_request_context(), Session(engine, expire_on_commit=False) as s:
            barrier.wait()
            try:
                act(s, index)
                s.commit()
                result = "done"
            except Refusal as refusal:
                s.rollback()
                result = refusal.code
        with lock:
            outcomes[result] += 1

    threads = [threading.Thread(target=run, args=(i,)) for i in range(racers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    return outcomes
