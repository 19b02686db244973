"""Document storage for Imbrace Local: dicts in memory, written through to SQLite with `--db`.

Every entity is a JSON document keyed by (kind, id). The working set always lives in memory (the
server is one process and one event loop, so reads are dict lookups); when a path is given each
write is also stored in one SQLite table so a restart finds the same state. One connection and a
lock are enough: writes come from the server loop, plus rare control calls from other threads.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Callable
from typing import Any

KEEP_ON_RESET = ("project", "user")


class Store:
    def __init__(self, path: str | None = None):
        self.path = path
        self._docs: dict[str, dict[str, dict[str, Any]]] = {}
        self._lock = threading.Lock()
        self._db: sqlite3.Connection | None = None
        self.on_run_write: Callable[[dict[str, Any]], None] | None = None
        """Told of every write of a run (the gauges of `/_local/counters` count runs in flight)."""
        if path:
            self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.execute(
                "CREATE TABLE IF NOT EXISTS docs (kind TEXT, id TEXT, data TEXT, PRIMARY KEY (kind, id))"
            )
            for kind, doc_id, data in self._db.execute("SELECT kind, id, data FROM docs"):
                self._docs.setdefault(kind, {})[doc_id] = json.loads(data)

    def kind(self, kind: str) -> dict[str, dict[str, Any]]:
        return self._docs.setdefault(kind, {})

    def get(self, kind: str, doc_id: str) -> dict[str, Any] | None:
        return self._docs.get(kind, {}).get(doc_id)

    def all(self, kind: str) -> list[dict[str, Any]]:
        return list(self._docs.get(kind, {}).values())

    def put(self, kind: str, doc: dict[str, Any]) -> dict[str, Any]:
        self.kind(kind)[doc["id"]] = doc
        if kind == "run" and self.on_run_write is not None:
            self.on_run_write(doc)
        if self._db is not None:
            with self._lock:
                self._db.execute(
                    "INSERT OR REPLACE INTO docs (kind, id, data) VALUES (?, ?, ?)",
                    (kind, doc["id"], json.dumps(doc, separators=(",", ":"))),
                )
        return doc

    def delete(self, kind: str, doc_id: str) -> None:
        self._docs.get(kind, {}).pop(doc_id, None)
        if kind == "run" and self.on_run_write is not None:
            self.on_run_write({"id": doc_id, "status": None})  # gone: no longer in flight
        if self._db is not None:
            with self._lock:
                self._db.execute("DELETE FROM docs WHERE kind = ? AND id = ?", (kind, doc_id))

    def reset(self) -> None:
        """Drop everything except organisations' projects and users."""
        for kind in list(self._docs):
            if kind not in KEEP_ON_RESET:
                del self._docs[kind]
        if self._db is not None:
            with self._lock:
                marks = ",".join("?" * len(KEEP_ON_RESET))
                self._db.execute(f"DELETE FROM docs WHERE kind NOT IN ({marks})", KEEP_ON_RESET)

    def close(self) -> None:
        if self._db is not None:
            with self._lock:
                self._db.close()
            self._db = None
