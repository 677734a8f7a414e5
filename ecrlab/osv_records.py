"""OSV records as the scanner keeps them: the advisory's findings-facing fields, its affected entries evaluated by
OSV's algorithm in each ecosystem's version order, and the checks a record published by hand must pass.

Only the Alpine, Debian, npm and PyPI ecosystems are indexed: the distributions and language package managers the
emulator's scanner detects; skipping the rest keeps a full OSV export small in memory. Ranges of type ECOSYSTEM
are evaluated in the ecosystem's order, ranges of type SEMVER in SemVer 2.0's.
"""

from __future__ import annotations

import dataclasses
import sys
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from ecrlab.cvss import cvss3_base_score
from ecrlab.errors import ValidationError
from ecrlab.package_versions import pypi_name, range_key

_INDEXED_ECOSYSTEMS = ("Alpine", "Debian", "npm", "PyPI")


@dataclass(slots=True, eq=False)
class Advisory:
    """The parts of one OSV record that findings show; kept compact because a full feed has ~10^5 of them."""

    id: str
    summary: str
    details: str
    aliases: tuple[str, ...]
    upstream: tuple[str, ...]
    references: tuple[str, ...]
    source_url: str | None
    published: str
    modified: str
    cvss_vector: str | None
    rating: str | None
    _vulnerability_id: str = dataclasses.field(
        default="", init=False, repr=False
    )  # computed once: a scan asks per finding

    @property
    def vulnerability_id(self) -> str:
        """The CVE a distribution advisory is about (what ECR names findings by), else the record's own id."""
        if not self._vulnerability_id:
            cves = self.cves
            named = self.id if self.id.startswith("CVE-") or len(cves) != 1 else cves[0]
            self._vulnerability_id = named
        return self._vulnerability_id

    @property
    def cves(self) -> list[str]:
        return sorted({a for a in (*self.upstream, *self.aliases) if a.startswith("CVE-")})

    @property
    def description(self) -> str:
        return self.details or self.summary

    @property
    def cvss_score(self) -> float | None:
        return cvss3_base_score(self.cvss_vector) if self.cvss_vector else None

    @property
    def published_at(self) -> datetime | None:
        return parse_time(self.published)

    @property
    def modified_at(self) -> datetime | None:
        return parse_time(self.modified)


_Events = tuple[tuple[str, str], ...]  # (kind, version) as the record lists them


@dataclass(slots=True, eq=False)
class AffectedEntry:
    """One `affected[]` entry: its ECOSYSTEM and SEMVER ranges as written, sorted and parsed on first use."""

    advisory: Advisory
    ecosystem: str
    ranges: tuple[tuple[str, _Events], ...]  # (range type, events)
    versions: frozenset[str]
    rating: str | None
    parsed: list[tuple[bool, list[tuple[tuple, int, str, str]]]] | None = None

    def evaluate(self, version: str, key: tuple) -> tuple[bool, str | None]:
        """Whether `version` (`key`: its ecosystem key) is affected (OSV's evaluation algorithm) and the version
        that fixes it."""
        if self.parsed is None:
            self.parsed = [(t == "SEMVER", r) for t, events in self.ranges if (r := self._parse(t, events))]
        affected = version in self.versions
        fixes: list[tuple[bool, tuple[Any, ...], str]] = []
        for semver, events in self.parsed:
            point = key
            if semver:
                try:
                    point = range_key("SEMVER", self.ecosystem, version)
                except ValueError:
                    continue
            inside = False
            for event_key, _, kind, _ in events:
                if kind == "introduced" and point >= event_key:
                    inside = True
                elif (kind == "fixed" and point >= event_key) or (kind == "last_affected" and point > event_key):
                    inside = False
            if inside:
                affected = True
                # Keys of different range types do not compare: the type goes first, so min() never mixes them.
                fixes.extend((semver, k, v) for k, _, kind, v in events if kind == "fixed" and k > point)
        return affected, min(fixes)[2] if affected and fixes else None

    def _parse(self, range_type: str, events: _Events) -> list[tuple[tuple, int, str, str]] | None:
        """Events in version order (introduced first on ties); None if a version does not parse."""
        try:
            keyed = [(range_key(range_type, self.ecosystem, v), kind != "introduced", kind, v) for kind, v in events]
        except ValueError:
            return None
        return sorted(keyed, key=lambda e: (e[0], e[1]))


_EVENTS = ("introduced", "fixed", "last_affected")
_RANGE_TYPES = ("ECOSYSTEM", "SEMVER")
_ENTRY_RATINGS = (
    ("ecosystem_specific", "urgency"),
    ("ecosystem_specific", "severity"),
    ("database_specific", "severity"),
)


def _ecosystem(entry: dict[str, Any]) -> str:
    package = entry.get("package")
    return str(package.get("ecosystem", "")) if type(package) is dict else ""


def _cvss_v3_vector(record: dict[str, Any], affected: Iterable[dict[str, Any]]) -> str | None:
    entries = [*(record.get("severity") or ())]
    for entry in affected:
        entries.extend(entry.get("severity") or ())
    vectors = [s.get("score", "") for s in entries if s.get("type") == "CVSS_V3"]
    return max(vectors, default=None)  # "CVSS:3.1/…" sorts after "CVSS:3.0/…"


def _rating(obj: dict[str, Any], *fields: tuple[str, str]) -> str | None:
    """The first distribution rating word found at obj[field][name] (Debian: ecosystem_specific.urgency)."""
    for field, name in fields:
        specific = obj.get(field)
        if type(specific) is dict and isinstance(value := specific.get(name), str):
            return value
    return None


# One affected[] entry as indexed: (ecosystem, index name, ranges, versions, entry rating).
_Entry = tuple[str, str, tuple[tuple[str, _Events], ...], frozenset[str], str | None]


def index_record(record: dict[str, Any]) -> tuple[Advisory, list[_Entry]] | None:
    """What the feed keeps of one OSV record; None for a record it does not index."""
    affected = [a for a in record.get("affected") or () if type(a) is dict]
    wanted = [a for a in affected if _ecosystem(a).partition(":")[0] in _INDEXED_ECOSYSTEMS]
    if not wanted or "id" not in record:
        return None
    references = record.get("references") or ()
    urls = tuple(r["url"] for r in references if r.get("url"))
    advisory_url = next((r["url"] for r in references if r.get("type") == "ADVISORY" and r.get("url")), None)
    advisory = Advisory(
        id=record["id"],
        summary=record.get("summary") or "",
        details=record.get("details") or "",
        aliases=tuple(record.get("aliases") or ()),
        upstream=(*(record.get("upstream") or ()), *(record.get("related") or ())),
        references=urls,
        source_url=advisory_url or (urls[0] if urls else None),
        published=record.get("published") or "",
        modified=record.get("modified") or "",
        cvss_vector=_cvss_v3_vector(record, affected),
        rating=_rating(record, ("database_specific", "severity")),
    )
    if not advisory.id.startswith("CVE-") and len(advisory.cves) > 1:
        return None  # a bulletin (DSA/DLA): its per-CVE records carry the same ranges; count each CVE once
    entries = []
    for entry in wanted:
        ecosystem = sys.intern(_ecosystem(entry))
        name = sys.intern(index_name(ecosystem, str(entry["package"].get("name", ""))))
        ranges = tuple(
            (
                r["type"],
                tuple((kind, v) for event in r.get("events") or () for kind, v in event.items() if kind in _EVENTS),
            )
            for r in entry.get("ranges") or ()
            if r.get("type") in _RANGE_TYPES
        )
        # Distribution feeds enumerate in `versions` exactly what their ECOSYSTEM ranges cover (hundreds
        # of versions per record), so the list is kept only where there is no range to evaluate.
        versions = frozenset() if ranges else frozenset(entry.get("versions") or ())
        entries.append((ecosystem, name, ranges, versions, _rating(entry, *_ENTRY_RATINGS)))
    return advisory, entries


def check_record(record: Any, where: str = "record") -> None:
    """Refuse an OSV record the feed would not index or could not evaluate, naming the field (`affected[0].ranges[0]
    .events[1].fixed`) and the rule it breaks; used for records published one by one, not for bulk loads."""
    if type(record) is not dict:
        raise ValidationError(where, record, "must be an OSV record (a JSON object)")
    for name in ("id", "modified"):
        if not isinstance(record.get(name), str) or not record[name]:
            raise ValidationError(f"{where}.{name}", record.get(name), "is required (a non-empty string)")
    if parse_time(record["modified"]) is None:
        raise ValidationError(f"{where}.modified", record["modified"], "must be an RFC 3339 time")
    if record.get("published") and parse_time(str(record["published"])) is None:
        raise ValidationError(f"{where}.published", record["published"], "must be an RFC 3339 time")
    for name in ("summary", "details"):
        if not isinstance(record.get(name) or "", str):
            raise ValidationError(f"{where}.{name}", record[name], "must be a string")
    for name in ("aliases", "upstream", "related"):
        if not isinstance(record.get(name) or [], list):
            raise ValidationError(f"{where}.{name}", record[name], "must be a list of ids")
    for name in ("references", "severity"):
        items = record.get(name) or []
        if not isinstance(items, list) or any(type(item) is not dict for item in items):
            raise ValidationError(f"{where}.{name}", items, "must be a list of JSON objects")
    advisory_cves = {
        a for n in ("aliases", "upstream", "related") for a in record.get(n) or () if str(a).startswith("CVE-")
    }
    if not record["id"].startswith("CVE-") and len(advisory_cves) > 1:
        raise ValidationError(
            f"{where}.aliases", sorted(advisory_cves), "names several CVEs: publish one record per CVE, as OSV does"
        )
    for i, entry in enumerate(record.get("severity") or ()):
        if type(entry) is dict and entry.get("type") == "CVSS_V3" and cvss3_base_score(str(entry.get("score"))) is None:
            raise ValidationError(f"{where}.severity[{i}].score", entry.get("score"), "must be a CVSS v3 base vector")
    affected = record.get("affected")
    if not isinstance(affected, list) or not affected:
        raise ValidationError(f"{where}.affected", affected, "must list at least one affected package")
    indexed = 0
    for i, entry in enumerate(affected):
        at = f"{where}.affected[{i}]"
        package = entry.get("package") if type(entry) is dict else None
        if type(package) is not dict or not package.get("name") or not package.get("ecosystem"):
            raise ValidationError(f"{at}.package", package, "must name the package and its ecosystem")
        ecosystem = str(package["ecosystem"])
        if ecosystem.partition(":")[0] not in _INDEXED_ECOSYSTEMS:
            continue
        indexed += 1
        if not isinstance(entry.get("ranges") or [], list) or not isinstance(entry.get("versions") or [], list):
            raise ValidationError(f"{at}.ranges", entry.get("ranges"), "ranges and versions must be lists")
        for j, version_range in enumerate(entry.get("ranges") or ()):
            kind = version_range.get("type") if type(version_range) is dict else None
            if kind not in (*_RANGE_TYPES, "GIT"):
                raise ValidationError(f"{at}.ranges[{j}].type", kind, "must be ECOSYSTEM, SEMVER or GIT")
            for k, event in enumerate(version_range.get("events") or ()):
                for name, version in event.items() if type(event) is dict else [("event", event)]:
                    if name not in (*_EVENTS, "limit"):
                        raise ValidationError(f"{at}.ranges[{j}].events[{k}]", event, "is not an OSV event")
                    if kind != "GIT":
                        try:
                            range_key(kind, ecosystem, str(version))
                        except ValueError as error:
                            raise ValidationError(f"{at}.ranges[{j}].events[{k}].{name}", version, str(error)) from None
        if not entry.get("ranges") and not entry.get("versions"):
            raise ValidationError(f"{at}.ranges", None, "give ranges or versions: otherwise nothing is affected")
    if not indexed:
        raise ValidationError(
            f"{where}.affected",
            [str(a.get("package", {}).get("ecosystem")) for a in affected],
            f"names no ecosystem the scanner reads ({', '.join(_INDEXED_ECOSYSTEMS)}; Alpine and Debian as "
            "'Alpine:v3.19', 'Debian:12')",
        )


def index_name(ecosystem: str, name: str) -> str:
    """The name a package is indexed and looked up by: PyPI's normalised form, any other ecosystem's as is."""
    return pypi_name(name) if ecosystem == "PyPI" else name


def parse_time(value: str) -> datetime | None:
    """An OSV time (RFC 3339); None when absent or unparsable, so one bad field never fails a bulk load."""
    try:
        return datetime.fromisoformat(value) if value else None
    except ValueError:
        return None
