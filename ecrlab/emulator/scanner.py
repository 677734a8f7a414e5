"""The emulator's scanner: an image in a repository → its OS, its packages, and the feed's matches for them.

A scan finds OS packages and language packages (npm, Python) alike and keeps every match; which of them a scan
type reports is `ImageScan.matches_for`: BASIC reports OS packages only, ENHANCED (Amazon Inspector) both, as
AWS documents.

Layers are read from the shared blob store in manifest order (whiteouts applied by `rootfs.FsView`), so an image
pushed over `/v2/` or with `PutImage` scans the same. The vulnerability feed is `data/vulndb` unless the server
was started with another (`ecrlab emulator serve --vulndb PATH`); it loads on the first scan, so importing the
emulator stays cheap. Results are cached per manifest digest: the same bytes against the same feed give the same
matches, whichever repository or account holds them, and a switch between BASIC and ENHANCED rescans nothing.
`publish` adds OSV records to the loaded feed (a feed update, as AWS's feeds get daily) and drops every cached
result, since the same bytes may now match more; who rescans what after that is `scanning.publish_advisories`.
"""

from __future__ import annotations

import json
import threading
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ecrlab.emulator.blobstore import shared_store
from ecrlab.emulator.moto_compat import Image
from ecrlab.emulator.rootfs import FsView, Layer, OsInfo, Package, detect_os, installed_packages, language_packages
from ecrlab.emulator.stored_images import INDEX_TYPES, blobs_of, parse_manifest
from ecrlab.errors import EcrlabError
from ecrlab.package_data import sample_feed
from ecrlab.vulndb import Match, VulnDb

DEFAULT_FEED = sample_feed()  # shipped in the wheel
UNSUPPORTED = "UnsupportedImageError: The operating system and/or package manager are not supported."
_CACHE_SIZE = 256


@dataclass(frozen=True)
class ImageScan:
    """What scanning one image manifest found: COMPLETE with matches, UNSUPPORTED_IMAGE, or FAILED and why."""

    status: str
    description: str
    os: OsInfo | None = None
    matches: tuple[Match, ...] = ()
    architecture: str = "amd64"

    def matches_for(self, scan_type: str) -> tuple[Match, ...]:
        """What a BASIC scan (OS packages only) or an ENHANCED one (OS and language packages) reports."""
        if scan_type == "ENHANCED":
            return self.matches
        return tuple(m for m in self.matches if not m.package.is_language)


class _Feed:
    """The process's vulnerability feed, loaded once, on first use."""

    def __init__(self) -> None:
        self.path = DEFAULT_FEED
        self._db: VulnDb | None = None
        self._lock = threading.Lock()
        self._results: OrderedDict[str, ImageScan] = OrderedDict()
        # Bumped whenever the feed changes: a scan that started against the old feed must not cache its result.
        self.generation = 0
        self.published = False

    def use(self, path: str | Path, *, load_now: bool = False) -> None:
        with self._lock:
            self.path, self._db = Path(path), None
            self._results.clear()
            self.generation += 1
            self.published = False
        if load_now:
            self.db()

    def db(self) -> VulnDb:
        with self._lock:
            if self._db is None:
                self._db = VulnDb.load(self.path)
            return self._db

    def cached(self, digest: str) -> ImageScan | None:
        with self._lock:
            result = self._results.get(digest)
            if result is not None:
                self._results.move_to_end(digest)
            return result

    def publish(self, records: list[dict[str, Any]]) -> int:
        """Add OSV records to the feed (validated; a bad one refuses them all) and forget every cached scan."""
        db = self.db()
        with self._lock:
            added = db.add(records)
            self._results.clear()
            self.generation += 1
            self.published = True
        return added

    def remember(self, digest: str, result: ImageScan, generation: int) -> None:
        with self._lock:
            if generation != self.generation:
                return
            self._results[digest] = result
            while len(self._results) > _CACHE_SIZE:
                self._results.popitem(last=False)


feed = _Feed()


def use_feed(path: str | Path) -> None:
    """Scan against the OSV feed at `path` (folder, JSON file or all.zip); loaded now, so a bad path fails early."""
    feed.use(path, load_now=True)


def publish(records: list[dict[str, Any]]) -> int:
    """Add OSV records to the live feed and drop cached scan results; returns how many records were indexed."""
    return feed.publish(records)


def unpublish() -> None:
    """Back to the feed as loaded (an emulator reset forgets published advisories); reloaded on the next scan."""
    if feed.published:
        feed.use(feed.path)


def is_index(image: Image) -> bool:
    return image.image_manifest_media_type in INDEX_TYPES


def scan_image(image: Image) -> ImageScan:
    """Scan one image manifest (an index is not an image: its manifests are scanned one by one)."""
    digest = image.get_image_digest()
    cached = feed.cached(digest)
    if cached is not None:
        return cached
    generation = feed.generation
    result = _scan(image)
    if result.status != "FAILED":  # a failure may be transient (e.g. a feed path fixed later)
        feed.remember(digest, result, generation)
    return result


def _architecture(config: Any) -> str:
    """The config's `architecture` (what Inspector reports); amd64 when the config says nothing usable."""
    store = shared_store()
    if not isinstance(config, dict) or not store.has(config.get("digest", "")):
        return "amd64"
    document = json.loads(store.path(config["digest"]).read_bytes())
    return (document.get("architecture") if isinstance(document, dict) else None) or "amd64"


_CONTENTS_SIZE = 64
_contents_cache: OrderedDict[tuple[str, ...], tuple[OsInfo | None, tuple[Package, ...]]] = OrderedDict()
_contents_lock = threading.Lock()


def _contents(layers: tuple[str, ...]) -> tuple[OsInfo | None, tuple[Package, ...]]:
    """The OS and packages of the filesystem these layers make, by their digests: they depend on the layers' bytes
    alone, so images rebuilt with only a new config, and every rescan after a feed update, only match again."""
    with _contents_lock:
        found = _contents_cache.get(layers)
        if found is not None:
            _contents_cache.move_to_end(layers)
            return found
    store = shared_store()
    view = FsView(Layer(digest, store.path(digest)) for digest in layers)
    os_info = detect_os(view)
    packages = () if os_info is None else (*installed_packages(view, os_info), *language_packages(view))
    with _contents_lock:
        _contents_cache[layers] = (os_info, packages)
        while len(_contents_cache) > _CONTENTS_SIZE:
            _contents_cache.popitem(last=False)
    return os_info, packages


def _scan(image: Image) -> ImageScan:
    store = shared_store()
    try:
        doc, media_type = parse_manifest(image.image_manifest, image.image_manifest_media_type)
        architecture = _architecture(doc.get("config"))
        missing = [d["digest"] for d in blobs_of(doc, media_type) if not store.has(d["digest"])]
        if missing:
            return ImageScan("FAILED", f"The image's blobs {missing} are missing from the emulator's blob store.")
        os_info, packages = _contents(tuple(d["digest"] for d in doc.get("layers", [])))
        if os_info is None:
            # UNCONFIRMED [U15]: whether Inspector reports the language packages of an image with no OS it knows (a FROM
            # scratch image with node_modules). The emulator keeps UNSUPPORTED_IMAGE for both scan types.
            return ImageScan("UNSUPPORTED_IMAGE", UNSUPPORTED, architecture=architecture)
        matches = feed.db().matches(os_info, packages)
    except (OSError, ValueError, EcrlabError) as error:
        return ImageScan("FAILED", f"The scan failed: {error}")
    return ImageScan("COMPLETE", "The scan was completed successfully.", os_info, tuple(matches), architecture)
