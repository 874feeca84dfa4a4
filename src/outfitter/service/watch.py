"""The served store's files re-hashed in the background: damage that opening cannot see (flipped bytes in vectors
or features) turns the API's answers into a 503 naming the file, instead of silently wrong results.

The first pass hashes every file once (about 1 s a GB); later passes, every `verify_interval_s`, open the newest
snapshot and hash only files that are new or changed since they last passed.
"""

from __future__ import annotations

import logging
import threading

from outfitter.catalog import CatalogStore
from outfitter.catalog.integrity import Problem
from outfitter.errors import OutfitterError

log = logging.getLogger(__name__)


class StoreWatch:
    """A daemon thread that verifies the store at `root` now and then; `problems` holds what the last pass found."""

    def __init__(self, root, interval_s: float) -> None:
        self.root = root
        self.interval_s = interval_s
        self.problems: list[Problem] = []
        self.passes = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="outfitter-store-watch", daemon=True)

    def start(self) -> "StoreWatch":
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)

    def _run(self) -> None:
        while True:
            self.check_once()
            if self._stop.wait(self.interval_s):
                return

    def check_once(self) -> list[Problem]:
        """One pass over the newest snapshot; a store that cannot be opened right now is left to the requests."""
        try:
            found = self._verify_newest()
        except OutfitterError as error:
            log.warning("store check skipped: %s", error)
            return self.problems
        if found and found != self.problems:
            log.error("the catalogue store is damaged, answering 503 until it is repaired: %s",
                      "; ".join(map(str, found)))
        elif self.problems and not found:
            log.warning("the catalogue store's files are whole again; answering again")
        self.problems, self.passes = found, self.passes + 1
        return found

    def _verify_newest(self, tries: int = 3) -> list[Problem]:
        """Problems of the newest snapshot; found while a writer committed a newer one, they are checked again on
        that one (a file replaced between the write and its commit is not damage)."""
        for _ in range(tries):
            store = CatalogStore.open(self.root)
            found = store.verify()
            if not found or store.is_current():
                return found
        return found
