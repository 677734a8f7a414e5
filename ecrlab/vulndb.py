"""The vulnerability feed: OSV records loaded once, indexed by (ecosystem, package), matched against an image's
installed packages in each distribution's own version order.

The records are `ecrlab.osv_records`, their version order `ecrlab.package_versions`, reading them from disk
`ecrlab.osv_files`, a large feed's on-disk index `ecrlab.osv_disk_index`.

Severity follows what AWS documents for basic scanning: the distribution's rating where the record has one
(Debian's `ecosystem_specific.urgency`, or `database_specific.severity`), otherwise the CVSS v3 base score,
otherwise UNDEFINED. Mapping, in ECR's `FindingSeverity` enum:

- distribution words: unimportant/negligible → INFORMATIONAL; low → LOW; medium/moderate → MEDIUM;
  high/important → HIGH; critical → CRITICAL. Debian's "not yet assigned" and "end-of-life" are no rating.
- CVSS v3 base score: 0.1–3.9 LOW, 4.0–6.9 MEDIUM, 7.0–8.9 HIGH, 9.0–10.0 CRITICAL; 0.0 INFORMATIONAL.
"""

from __future__ import annotations

import gc
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ecrlab.cvss import cvss_severity
from ecrlab.errors import ValidationError
from ecrlab.osv_disk_index import DiskIndex, index_file_for
from ecrlab.osv_files import read_feed
from ecrlab.osv_records import Advisory, AffectedEntry, check_record, index_name, index_record, parse_time
from ecrlab.package_versions import version_key

if TYPE_CHECKING:
    from ecrlab.emulator.rootfs import OsInfo, Package

_DISTRO_SEVERITY = {
    "unimportant": "INFORMATIONAL",
    "negligible": "INFORMATIONAL",
    "low": "LOW",
    "medium": "MEDIUM",
    "moderate": "MEDIUM",
    "high": "HIGH",
    "important": "HIGH",
    "critical": "CRITICAL",
}
# The OSV ecosystem of a language package, by the `Package.manager` the scanner found it with.
LANGUAGE_ECOSYSTEMS = {"npm": "npm", "python": "PyPI"}
DISK_INDEX_FROM_BYTES = 4 << 20  # smaller feeds (the sample feed, tests) load into memory in well under a second


def distro_severity(rating: str | None) -> str | None:
    """ECR's severity for a distribution's rating word; None when the distribution gave no rating."""
    return _DISTRO_SEVERITY.get((rating or "").strip().rstrip("*").lower())


@dataclass(frozen=True, slots=True)
class Match:
    """An installed package that an advisory says is vulnerable, with the severity ECR would show."""

    advisory: Advisory
    package: Package
    ecosystem: str
    fixed_version: str | None
    severity: str
    rating: str | None

    @property
    def vulnerability_id(self) -> str:
        return self.advisory.vulnerability_id


class VulnDb:
    """An indexed feed: `matches()` finds each installed package's advisories by (ecosystem, source name).

    A large feed file (OSV's all.zip) is indexed once into an SQLite file in the user's cache, keyed by the feed's
    path, size and modification time; later loads open it and read only the packages a scan looks up, so a
    100,000-advisory feed neither fills memory nor delays the first scan. Records published afterwards (`add`) live
    in memory beside it.
    """

    def __init__(self) -> None:
        self._index: dict[tuple[str, str], list[AffectedEntry]] = {}
        self.advisory_count = 0
        self._modified = ""
        self._disk: DiskIndex | None = None

    @property
    def updated_at(self) -> datetime | None:
        """The newest `modified` in the feed: ECR's `vulnerabilitySourceUpdatedAt`."""
        return parse_time(self._modified)

    @classmethod
    def load(cls, path: str | Path) -> VulnDb:
        """Load a folder of OSV JSON files, one JSON file (record or list), or an OSV `all.zip`."""
        path = Path(path)
        if path.is_file() and path.stat().st_size >= DISK_INDEX_FROM_BYTES:
            return cls.indexed(path, index_file_for(path))
        return cls.from_records(read_feed(path))

    @classmethod
    def indexed(cls, path: str | Path, index_file: Path | None) -> VulnDb:
        """The feed at `path` through its on-disk index at `index_file`, built first if missing (None: in memory)."""
        db = cls()
        db._disk = DiskIndex.open(Path(path), index_file)
        db.advisory_count, db._modified = db._disk.advisory_count, db._disk.modified
        return db

    @classmethod
    def from_records(cls, records: Iterable[dict[str, Any]]) -> VulnDb:
        """Index OSV records already in memory (parsed JSON objects)."""
        db = cls()
        # Loading allocates ~10^6 short-lived JSON containers and creates no reference cycles; left on, the
        # cyclic collector rescans the growing index over and over (about 40% of the load time).
        collecting = gc.isenabled()
        gc.disable()
        try:
            for record in records:
                db._add(record)
        finally:
            if collecting:
                gc.enable()
        return db

    def add(self, records: Iterable[dict[str, Any]]) -> int:
        """Publish OSV records into the loaded feed, as a feed update would; returns how many were indexed.

        Unlike a bulk load, which skips what it cannot use, every record is checked first (`check_record`) and a
        bad one refuses the whole batch with a `ValidationError` naming its field: a record published by hand that
        the scanner silently ignored would look like a scanner bug. A record whose id the feed already holds
        replaces it, as a newer revision of an OSV record supersedes the old one (the last one wins in a batch).
        `updated_at` moves to the newest `modified` seen.
        """
        if isinstance(records, (dict, str, bytes)) or not isinstance(records, Iterable):
            raise ValidationError("records", records, "must be a list of OSV records (JSON objects)")
        batch = list(records)
        for position, record in enumerate(batch):
            check_record(record, f"records[{position}]")
        latest = {record["id"]: record for record in batch}
        self._remove(set(latest))
        for record in latest.values():
            self._add(record)
        return len(latest)

    def _remove(self, ids: set[str]) -> None:
        """Drop the advisories with these ids from the index. The lists are rebuilt, not edited, so a scan
        iterating one meanwhile sees the old list whole."""
        removed: set[str] = set()
        for key, entries in list(self._index.items()):
            kept = [e for e in entries if e.advisory.id not in ids]
            if len(kept) != len(entries):
                removed.update(e.advisory.id for e in entries if e.advisory.id in ids)
                if kept:
                    self._index[key] = kept
                else:
                    del self._index[key]
        if self._disk is not None:
            removed |= self._disk.hide(ids)
        self.advisory_count -= len(removed)

    def _add(self, record: dict[str, Any]) -> None:
        indexed = index_record(record)
        if indexed is None:
            return
        advisory, entries = indexed
        self.advisory_count += 1
        if advisory.modified > self._modified:
            self._modified = advisory.modified
        for ecosystem, name, ranges, versions, rating in entries:
            self._index.setdefault((ecosystem, name), []).append(
                AffectedEntry(advisory, ecosystem, ranges, versions, rating)
            )

    def _candidates(self, ecosystem: str, name: str) -> list[AffectedEntry]:
        published = self._index.get((ecosystem, name)) or []
        return [*self._disk.candidates(ecosystem, name), *published] if self._disk is not None else published

    def matches(self, os_info: OsInfo, packages: Iterable[Package]) -> list[Match]:
        """Every (vulnerability, installed package) pair the feed reports for this OS release and the image's
        language packages (npm and PyPI advisories, whatever the OS).

        Alpine advisories name the origin package and Debian's the *source* package, so packages are looked up
        by `source_name` and compared by `source_version`; the match reports the binary package installed. A
        language package installed at several paths is a match at each.
        """
        os_ecosystem = os_info.ecosystem
        found: dict[tuple[str, str, str, str], Match] = {}
        for package in packages:
            ecosystem = LANGUAGE_ECOSYSTEMS.get(package.manager, os_ecosystem)
            candidates = self._candidates(ecosystem, index_name(ecosystem, package.source_name))
            if not candidates:
                continue
            try:
                key = version_key(ecosystem, package.source_version)
            except ValueError:
                continue
            for entry in candidates:
                affected, fixed = entry.evaluate(package.source_version, key)
                if not affected:
                    continue
                # OSV has one record per source (ALPINE-CVE-…, DEBIAN-CVE-…, DSA-…): report each CVE once.
                identity = (entry.advisory.vulnerability_id, package.name, package.arch, package.path)
                if identity not in found:
                    rating = entry.rating if entry.rating is not None else entry.advisory.rating
                    found[identity] = Match(
                        entry.advisory, package, ecosystem, fixed, _severity(rating, entry.advisory), rating
                    )
        return list(found.values())


def _severity(rating: str | None, advisory: Advisory) -> str:
    if (severity := distro_severity(rating)) is not None:
        return severity
    score = advisory.cvss_score
    return cvss_severity(score) if score is not None else "UNDEFINED"
