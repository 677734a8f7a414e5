"""A large feed's index in SQLite (OSV's all.zip): built once into the user's cache, keyed by the feed's path, size
and modification time; later loads open it and read only the packages a scan looks up, so a 100,000-advisory feed
neither fills memory nor delays the first scan."""

from __future__ import annotations

import contextlib
import dataclasses
import gc
import hashlib
import json
import os
import sqlite3
import threading
from collections import OrderedDict
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from ecrlab.osv_files import read_feed
from ecrlab.osv_records import Advisory, AffectedEntry, index_record

_SCHEMA = 1  # bump when what is stored changes: old index files are then simply not found
_CANDIDATE_CACHE = 4096  # (ecosystem, name) lists kept parsed, so warm scans do not re-read or re-parse them


def index_file_for(feed: Path) -> Path | None:
    """Where the index of `feed` lives: $ECRLAB_CACHE_DIR, else $XDG_CACHE_HOME/ecrlab, else ~/.cache/ecrlab; named
    by the feed's resolved path, size and modification time. None where no cache folder can be made."""
    stat = feed.stat()
    identity = f"{feed.resolve()}|{stat.st_size}|{stat.st_mtime_ns}|{_SCHEMA}"
    root = os.environ.get("ECRLAB_CACHE_DIR") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "ecrlab"
    )
    folder = Path(root) / "vulndb"
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError:
        return None
    return folder / f"{hashlib.sha256(identity.encode()).hexdigest()[:32]}.sqlite"


class DiskIndex:
    """A feed's index in SQLite: advisories and affected entries by (ecosystem, name), read per lookup."""

    def __init__(self, connection: sqlite3.Connection) -> None:
        self._db = connection
        self._lock = threading.Lock()
        self._hidden: set[str] = set()  # ids superseded by published records
        self._cache: OrderedDict[tuple[str, str], list[AffectedEntry]] = OrderedDict()
        self._advisories: dict[int, Advisory] = {}
        count, modified = self._db.execute("SELECT advisory_count, modified FROM meta").fetchone()
        self.advisory_count, self.modified = int(count), str(modified)

    @classmethod
    def open(cls, feed: Path, index_file: Path | None) -> DiskIndex:
        """The index at `index_file`, built from `feed` first when missing or damaged (None: in memory)."""
        if index_file is not None and index_file.exists():
            try:
                return cls(sqlite3.connect(f"file:{index_file}?mode=ro", uri=True, check_same_thread=False))
            except sqlite3.Error:
                pass  # a damaged file: rebuilt below
        if index_file is None:
            connection = sqlite3.connect(":memory:", check_same_thread=False)
            _build(connection, read_feed(feed))
            return cls(connection)
        partial_file = index_file.with_name(f"{index_file.name}.{os.getpid()}.{threading.get_ident()}.tmp")
        try:
            with contextlib.closing(sqlite3.connect(partial_file)) as connection:
                _build(connection, read_feed(feed))
            os.replace(partial_file, index_file)  # atomic: concurrent loaders never see half an index
        finally:
            partial_file.unlink(missing_ok=True)
        _prune(index_file.parent, keep=index_file)
        return cls(sqlite3.connect(f"file:{index_file}?mode=ro", uri=True, check_same_thread=False))

    def hide(self, ids: set[str]) -> set[str]:
        """Leave out these advisories from now on; returns those the index held and had not hidden yet."""
        wanted, held = sorted(ids), set[str]()
        with self._lock:
            for start in range(0, len(wanted), 500):  # SQLite bounds the number of parameters of one statement
                chunk = wanted[start : start + 500]
                query = f"SELECT id FROM advisory WHERE id IN ({','.join('?' * len(chunk))})"
                held.update(row[0] for row in self._db.execute(query, chunk))
            fresh = held - self._hidden
            self._hidden |= fresh
            self._cache.clear()
        return fresh

    def candidates(self, ecosystem: str, name: str) -> list[AffectedEntry]:
        """The affected entries of one package, cached: a warm scan looks the same packages up again."""
        key = (ecosystem, name)
        with self._lock:
            cached = self._cache.get(key)
            if cached is not None:
                self._cache.move_to_end(key)
                return cached
            rows = self._db.execute(_CANDIDATES, key).fetchall()
            found = []
            for advisory_row, ranges, versions, rating in rows:
                advisory = self._advisory(advisory_row)
                if advisory.id in self._hidden:
                    continue
                parsed_ranges = tuple((t, tuple((k, v) for k, v in events)) for t, events in json.loads(ranges))
                found.append(AffectedEntry(advisory, ecosystem, parsed_ranges, frozenset(json.loads(versions)), rating))
            self._cache[key] = found
            while len(self._cache) > _CANDIDATE_CACHE:
                self._cache.popitem(last=False)
            return found

    def _advisory(self, row: int) -> Advisory:
        advisory = self._advisories.get(row)
        if advisory is None:
            fields = self._db.execute(f"SELECT {_ADVISORY_COLUMNS} FROM advisory WHERE rowid = ?", (row,)).fetchone()
            values: list[Any] = [
                tuple(json.loads(v)) if n in _TUPLE_FIELDS else v for n, v in zip(_FIELDS, fields, strict=True)
            ]
            advisory = self._advisories[row] = Advisory(*values)
        return advisory


_CANDIDATES = "SELECT advisory, ranges, versions, rating FROM affected WHERE ecosystem = ? AND name = ? ORDER BY rowid"
_KEEP_INDEXES = 4


def _prune(folder: Path, keep: Path) -> None:
    """Indexes of feeds replaced since (each feed update is a new file) are dropped, the newest few kept."""
    others = sorted((p for p in folder.glob("*.sqlite") if p != keep), key=lambda p: p.stat().st_mtime, reverse=True)
    for old in others[_KEEP_INDEXES - 1 :]:
        with contextlib.suppress(OSError):
            old.unlink()


_FIELDS = tuple(f.name for f in dataclasses.fields(Advisory) if f.init)
_TUPLE_FIELDS = frozenset({"aliases", "upstream", "references"})
_ADVISORY_COLUMNS = ", ".join(f'"{name}"' for name in _FIELDS)  # quoted: "references" is an SQL keyword


def _build(connection: sqlite3.Connection, records: Iterable[dict[str, Any]]) -> None:
    """Index OSV records into an empty database, as `VulnDb._add` indexes them in memory."""
    columns = ", ".join(f'"{name}" TEXT' for name in _FIELDS)
    connection.executescript(
        f"""
        CREATE TABLE advisory ({columns});
        CREATE TABLE affected (ecosystem TEXT, name TEXT, advisory INTEGER, ranges TEXT, versions TEXT, rating TEXT);
        CREATE TABLE meta (advisory_count INTEGER, modified TEXT);
        """
    )
    count, modified = 0, ""
    collecting = gc.isenabled()  # as in from_records: no cycles are created, and the collector would rescan
    gc.disable()
    try:
        insert_advisory = f"INSERT INTO advisory VALUES ({', '.join('?' * len(_FIELDS))})"
        with connection:
            for record in records:
                indexed = index_record(record)
                if indexed is None:
                    continue
                advisory, entries = indexed
                count += 1
                modified = max(modified, advisory.modified)
                values = [
                    json.dumps(getattr(advisory, n)) if n in _TUPLE_FIELDS else getattr(advisory, n) for n in _FIELDS
                ]
                row = connection.execute(insert_advisory, values).lastrowid
                connection.executemany(
                    "INSERT INTO affected VALUES (?, ?, ?, ?, ?, ?)",
                    [(e, n, row, json.dumps(r), json.dumps(sorted(v)), rating) for e, n, r, v, rating in entries],
                )
            connection.execute("CREATE INDEX affected_by_package ON affected (ecosystem, name)")
            connection.execute("CREATE INDEX advisory_by_id ON advisory (id)")
            connection.execute("INSERT INTO meta VALUES (?, ?)", (count, modified))
    finally:
        if collecting:
            gc.enable()
