"""An image's merged filesystem, read straight from its layer tarballs, and the packages installed in it: OS
packages (apk, dpkg) and language packages (npm's `node_modules/<name>/package.json`, Python's
`site-packages/<dist>.dist-info/METADATA`).

A scan needs a handful of files (os-release, the package databases and the language packages' manifests), so
each layer is streamed once, OCI whiteouts are applied to an in-memory tree, and only those files' bytes are
kept; nothing is extracted to disk.
Every layer's copy of a kept file is remembered, which is how a package is traced to the layer that introduced it
(Inspector's `sourceLayerHash`).
"""

from __future__ import annotations

import contextlib
import gzip
import hashlib
import io
import json
import os
import posixpath
import re
import shlex
import threading
import zlib
from collections import OrderedDict
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import BinaryIO, Protocol

from ecrlab.errors import ValidationError

_OS_RELEASE = ("etc/os-release", "usr/lib/os-release")
_APK_DB = "lib/apk/db/installed"
_DPKG_STATUS = "var/lib/dpkg/status"
_DPKG_STATUS_D = "var/lib/dpkg/status.d"
_KEPT = frozenset({*_OS_RELEASE, _APK_DB, _DPKG_STATUS})
_OPAQUE = ".wh..wh..opq"
_WHITEOUT = ".wh."
_MAX_SYMLINK_HOPS = 40
# (name, version, source name, source version, arch) as read from a package database
_Record = tuple[str, str, str, str, str]


_LANGUAGE_MANIFEST_NAMES = ("/package.json", "/METADATA")
NPM, PYTHON = "npm", "python"  # `Package.manager` of language packages, by how they are installed


def _language_manifest(path: str) -> str | None:
    """NPM for `…/node_modules/<name>/package.json` (or `@scope/<name>`), PYTHON for
    `…/site-packages/<dist>.dist-info/METADATA`; None for any other path (a package's own nested files)."""
    parts = ("/" + path).split("/")  # a leading "" so that a top-level node_modules has a parent too
    if parts[-1] == "package.json" and len(parts) >= 4 and not parts[-2].startswith((".", "@")):
        if parts[-3] == "node_modules":
            return NPM
        scope = parts[-3]
        if len(parts) >= 5 and parts[-4] == "node_modules" and scope.startswith("@") and len(scope) > 1:
            return NPM
    elif parts[-1] == "METADATA" and len(parts) >= 4 and parts[-2].endswith(".dist-info"):
        return PYTHON if parts[-3] == "site-packages" else None
    return None


def _kept(path: str) -> bool:
    """The files whose bytes a scan reads; distroless keeps one dpkg stanza per file in status.d/."""
    if path in _KEPT:
        return True
    if path.endswith(_LANGUAGE_MANIFEST_NAMES):
        return _language_manifest(path) is not None
    parent, name = posixpath.split(path)
    return parent == _DPKG_STATUS_D and not name.endswith(".md5sums")


@dataclass(frozen=True)
class Layer:
    """One layer blob (gzip or plain tar, as bytes or a file) and the digest the image manifest gives it."""

    digest: str
    blob: bytes | Path

    @classmethod
    def of(cls, blob: bytes | str | os.PathLike[str]) -> Layer:
        """Wrap a blob whose digest the caller does not have; hashes it the way the manifest would."""
        if isinstance(blob, bytes):
            return cls(f"sha256:{hashlib.sha256(blob).hexdigest()}", blob)
        path = Path(blob)
        with path.open("rb") as fh:
            return cls(f"sha256:{hashlib.file_digest(fh, 'sha256').hexdigest()}", path)

    def _open(self) -> BinaryIO:
        return io.BytesIO(self.blob) if isinstance(self.blob, bytes) else self.blob.open("rb")


class _Node:
    """A path in the merged tree; `versions`: (layer index, bytes) for each layer that wrote a kept file. A
    directory gets its `children` from its maker, who keeps them to walk on; a symlink has a `link`."""

    __slots__ = ("children", "kind", "link", "versions")

    def __init__(
        self,
        kind: str,
        link: str | None = None,
        versions: list[tuple[int, bytes]] | None = None,
        children: dict[str, _Node] | None = None,
    ):
        self.kind = kind  # "dir" | "file" | "symlink" | "other"
        self.link = link
        self.versions = versions
        self.children = children


def _normalize(name: str) -> str | None:
    """A tar member name as a root-relative path ("./etc/" is "etc"); None for the root itself. `..` stops at the
    root, as in an extraction confined to it."""
    path = name.lstrip("/").removeprefix("./").rstrip("/")
    if "/." in path or "//" in path or path.startswith("."):  # rare: needs full normalisation
        path = posixpath.normpath("/" + path).lstrip("/")
    return path or None


class FsView:
    """The merged filesystem of an image's layers, applied in order with OCI whiteouts."""

    def __init__(self, layers: Iterable[Layer | bytes | str | os.PathLike[str]]) -> None:
        self._top: dict[str, _Node] = {}  # the root directory's children
        self._root = _Node("dir", children=self._top)
        self._manifests: set[str] = set()  # language package manifests any layer wrote
        digests = []
        for index, layer in enumerate(layers):
            layer = layer if isinstance(layer, Layer) else Layer.of(layer)
            digests.append(layer.digest)
            self._apply(index, layer)
        self.layers: tuple[str, ...] = tuple(digests)

    def read(self, path: str) -> bytes | None:
        """The file's contents after all layers, following symlinks; None if absent or not a scanned file."""
        history = self.history(path)
        return history[-1][1] if history else None

    def history(self, path: str) -> list[tuple[str, bytes]]:
        """Each layer's copy of a scanned file, oldest first, as (layer digest, bytes); [] if absent."""
        node = self._resolve(path)
        if node is None or not node.versions:
            return []
        return [(self.layers[index], data) for index, data in node.versions]

    def language_manifests(self) -> list[str]:
        """Paths of the npm and Python package manifests still in the merged tree, sorted."""
        return sorted(p for p in self._manifests if (node := self._lookup(p)) is not None and node.versions)

    def listdir(self, path: str) -> list[str]:
        """Sorted entry names of a directory after all layers; [] if it is absent or not a directory."""
        node = self._resolve(path)
        return sorted(node.children) if node is not None and node.children is not None else []

    def _apply(self, index: int, layer: Layer) -> None:
        summary = layer_summary(layer)
        # Whiteouts hide what lower layers put there; this layer's own entries are added afterwards.
        for path in summary.opaque:
            node = self._lookup(path)
            if node is not None and node.children is not None:
                node.children.clear()
        for path in summary.whiteouts:
            parent = self._lookup(posixpath.dirname(path))
            if parent is not None and parent.children is not None:
                parent.children.pop(posixpath.basename(path), None)
        for step in summary.steps:
            if isinstance(step, dict):
                # Directories reached in this run, by path, so siblings and cousins share their ancestors' walk; no
                # file of a run replaces one of them (`_PlainRun.takes`), but earlier steps may have, hence per run.
                known = {"": self._top}
                for parent_path, names in step.items():
                    # As `_add` does for each: missing or non-directory ancestors become directories.
                    self._directory(parent_path, known).update(dict.fromkeys(names, _PLAIN_FILE))
            else:
                self._add(index, *step)
        self._manifests.update(summary.manifests)

    def _directory(self, path: str, known: dict[str, dict[str, _Node]]) -> dict[str, _Node]:
        children = known.get(path)
        if children is None:
            parent, _, name = path.rpartition("/")
            above = self._directory(parent, known)
            child = above.get(name)
            if child is None or (children := child.children) is None:
                children = {}
                above[name] = _Node("dir", children=children)
            known[path] = children
        return children

    def _add(self, index: int, path: str, kind: bytes, link: str, data: bytes | None) -> None:
        siblings = self._top  # the children of the directory the next part of `path` is in
        *dirs, name = path.split("/")
        for part in dirs:
            child = siblings.get(part)
            if child is None or (below := child.children) is None:
                below = {}
                siblings[part] = _Node("dir", children=below)
            siblings = below
        existing = siblings.get(name)
        if kind == _DIRECTORY:
            if existing is None or existing.children is None:
                siblings[name] = _Node("dir", children={})
            return
        if kind == _SYMLINK:
            siblings[name] = _Node("symlink", link=link)
            return
        versions = None
        if kind == _HARDLINK:
            target = self._lookup(_normalize(link) or "")
            if target is not None and target.versions:
                versions = [(index, target.versions[-1][1])]
        elif data is not None:
            versions = [(index, data)]
        if versions and existing is not None and existing.versions:
            versions = existing.versions + versions
        is_file = kind in _REGULAR or kind == _HARDLINK
        siblings[name] = _Node("file" if is_file else "other", versions=versions)

    def _lookup(self, path: str) -> _Node | None:
        """The node at a literal path (no symlinks followed), as layers address it."""
        node: _Node | None = self._root
        for part in filter(None, path.split("/")):
            if node is None or node.children is None:
                return None
            node = node.children.get(part)
        return node

    def _resolve(self, path: str) -> _Node | None:
        """The node a process inside the container would reach at `path`, following symlinks."""
        pending = [p for p in reversed(path.split("/")) if p]
        stack: list[_Node] = [self._root]
        hops = 0
        while pending:
            part = pending.pop()
            if part == ".":
                continue
            if part == "..":
                if len(stack) > 1:
                    stack.pop()
                continue
            children = stack[-1].children
            node = children.get(part) if children is not None else None
            if node is None:
                return None
            if (link := node.link) is not None:  # a symlink
                hops += 1
                if hops > _MAX_SYMLINK_HOPS:
                    return None
                if link.startswith("/"):
                    stack = [self._root]
                pending.extend(p for p in reversed(link.split("/")) if p)
                continue
            stack.append(node)
        return stack[-1]


# --- layer summaries -------------------------------------------------------------------------------------
# What a layer does to the merged tree depends on its bytes alone, so it is read once per digest and kept as a
# summary: whiteouts, and its entries in tar order, where runs of plain files (regular files a scan never reads)
# are folded into {parent: names} and applied at dictionary speed. Images sharing a base layer read it once.

_Entry = tuple[str, bytes, str, bytes | None]
_PLAIN_FILE = _Node("file")  # shared by every unread regular file: such nodes are never modified


@dataclass(frozen=True, slots=True)
class LayerSummary:
    opaque: tuple[str, ...]
    whiteouts: tuple[str, ...]
    steps: tuple[_Entry | dict[str, list[str]], ...]
    manifests: frozenset[str]
    size: int  # entries, what the cache is bounded by


_SUMMARY_LIMIT = 1_000_000  # entries kept across layers (about 100 bytes each)
_summaries: OrderedDict[str, LayerSummary] = OrderedDict()
_summaries_size = 0
_summaries_lock = threading.Lock()


def layer_summary(layer: Layer) -> LayerSummary:
    """The layer's effect on a merged tree, read from its blob on the first request for its digest."""
    global _summaries_size
    with _summaries_lock:
        summary = _summaries.get(layer.digest)
        if summary is not None:
            _summaries.move_to_end(layer.digest)
            return summary
    summary = _summarize(layer)
    with _summaries_lock:
        if layer.digest not in _summaries:
            _summaries[layer.digest] = summary
            _summaries_size += summary.size
        while _summaries_size > _SUMMARY_LIMIT and len(_summaries) > 1:
            _summaries_size -= _summaries.popitem(last=False)[1].size
    return summary


class _PlainRun:
    """Consecutive plain files as {parent: names}; applying them parent by parent gives the same tree as one by
    one as long as no file of the run is at or above a parent of the run, which `takes` refuses."""

    def __init__(self) -> None:
        self.parents: dict[str, list[str]] = {}
        self.files: set[str] = set()
        self.dirs: set[str] = set()  # the run's parents and all their ancestors

    def takes(self, path: str, parent: str) -> bool:
        if path in self.dirs:
            return False
        names = self.parents.get(parent)
        if names is None:
            ancestors = [parent]
            while "/" in ancestors[-1]:
                ancestors.append(ancestors[-1].rpartition("/")[0])
            if any(a in self.files for a in ancestors):
                return False
            self.dirs.update(ancestors)
            names = self.parents[parent] = []
        names.append(path.rpartition("/")[2])
        self.files.add(path)
        return True


def _summarize(layer: Layer) -> LayerSummary:
    opaque: list[str] = []
    whiteouts: list[str] = []
    manifests: set[str] = set()
    steps: list[_Entry | dict[str, list[str]]] = []
    run = _PlainRun()
    count = 0
    try:
        with layer._open() as blob, _decompressed(blob) as stream:
            for path, kind, link, data in _tar_members(stream):
                count += 1
                parent, _, name = path.rpartition("/")
                if name == _OPAQUE:
                    opaque.append(parent)
                elif name.startswith(_WHITEOUT):
                    whiteouts.append(posixpath.join(parent, name[len(_WHITEOUT) :]))
                elif data is None and kind in _REGULAR:
                    if not run.takes(path, parent):  # order matters here: the run so far goes first
                        steps.append(run.parents)
                        run = _PlainRun()
                        run.takes(path, parent)
                else:
                    if run.parents:
                        steps.append(run.parents)
                        run = _PlainRun()
                    steps.append((path, kind, link, data))
                    if data is not None and path.endswith(_LANGUAGE_MANIFEST_NAMES):
                        manifests.add(path)
    except (ValueError, OSError, EOFError, zlib.error) as exc:
        raise ValidationError("layer", layer.digest, f"must be a plain or gzip tar archive ({exc})") from exc
    if run.parents:
        steps.append(run.parents)
    return LayerSummary(tuple(opaque), tuple(whiteouts), tuple(steps), frozenset(manifests), count)


# --- tar streams ------------------------------------------------------------------------------------------
# Layer tarballs use ustar headers plus GNU long names and PAX records. Reading the 512-byte headers directly
# is ~10x faster than tarfile, which builds a full TarInfo (every field decoded) for each of an image's
# thousands of members; only the scanned files' bytes are read, the rest is skipped.

_BLOCK = 512
_EMPTY_BLOCK = bytes(_BLOCK)
_REGULAR = (b"0", b"\0", b"7")
_HARDLINK, _SYMLINK, _DIRECTORY = b"1", b"2", b"5"
_GZIP_MAGIC = b"\x1f\x8b"
_ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"


class _Stream(Protocol):
    """What the tar reader needs of a layer: a file or the gzip stream over one."""

    def read(self, size: int, /) -> bytes: ...

    def seek(self, offset: int, whence: int, /) -> int: ...


@contextlib.contextmanager
def _decompressed(blob: BinaryIO) -> Iterator[_Stream]:
    magic = blob.read(4)
    blob.seek(0)
    if magic.startswith(_GZIP_MAGIC):
        with gzip.GzipFile(fileobj=blob) as stream:
            yield stream
    elif magic == _ZSTD_MAGIC:
        raise ValueError("zstd-compressed layers are not supported")
    else:
        yield blob


def _text(field: bytes) -> str:
    return field.split(b"\0", 1)[0].decode("utf-8", "surrogateescape")


def _number(field: bytes) -> int:
    if field[0] & 0x80:  # GNU base-256, for sizes beyond 8 GiB
        return int.from_bytes(field[1:], "big")
    return int(field.strip(b" \0") or b"0", 8)


def _pax_records(data: bytes) -> dict[str, str]:
    """PAX extended header records: "<length> <key>=<value>\\n"."""
    records, pos = {}, 0
    while pos < len(data):
        space = data.index(b" ", pos)
        length = int(data[pos:space])
        if length <= 0:
            raise ValueError("bad PAX record")
        key, _, value = data[space + 1 : pos + length - 1].partition(b"=")
        records[key.decode()] = value.decode("utf-8", "surrogateescape")
        pos += length
    return records


def _read(stream: _Stream, size: int) -> bytes:
    data = stream.read(size)
    if len(data) != size:
        raise EOFError("tar member is truncated")
    return data


def _tar_members(stream: _Stream) -> Iterator[tuple[str, bytes, str, bytes | None]]:
    """(path, type flag, link target, bytes if the scanner reads this file) for each member of a tar stream."""
    extended: dict[str, str] = {}
    while True:
        header = stream.read(_BLOCK)
        if len(header) < _BLOCK or header == _EMPTY_BLOCK:
            if header.strip(b"\0"):
                raise EOFError("tar header is truncated")
            return
        if sum(header) - sum(header[148:156]) + 8 * 32 != _number(header[148:156]):
            raise ValueError("not a tar header (bad checksum)")
        kind, size = header[156:157], _number(header[124:136])
        padding = -size % _BLOCK
        if kind in (b"x", b"g", b"L", b"K"):
            record = _read(stream, size)
            stream.seek(padding, io.SEEK_CUR)
            if kind == b"x":
                extended.update(_pax_records(record))
            elif kind == b"L":
                extended["path"] = _text(record)
            elif kind == b"K":
                extended["linkpath"] = _text(record)
            continue  # a global (g) header holds nothing a scan needs
        name = _text(header[:100])
        if header[257:263] == b"ustar\0" and (prefix := _text(header[345:500])):
            name = f"{prefix}/{name}"
        path = _normalize(extended.get("path", name))
        link = extended.get("linkpath") or _text(header[157:257])
        size = int(extended.get("size", size))
        padding = -size % _BLOCK
        extended = {}
        data: bytes | None = None
        if kind in _REGULAR and path is not None and _kept(path):
            data = _read(stream, size)
            stream.seek(padding, io.SEEK_CUR)
        else:
            stream.seek(size + padding, io.SEEK_CUR)
        if path is not None:
            yield path, kind, link, data


@dataclass(frozen=True, slots=True)
class OsInfo:
    """The distribution an image is built on, as its os-release says, named the way the feed names it."""

    id: str
    version_id: str
    release: str
    pretty_name: str

    @property
    def ecosystem(self) -> str:
        """OSV's ecosystem name for this release: "Alpine:v3.19", "Debian:12"."""
        return f"Alpine:v{self.release}" if self.id == "alpine" else f"Debian:{self.release}"


@dataclass(frozen=True, slots=True)
class Package:
    """An installed package; distribution advisories are keyed by `source_name` and `source_version`.

    `manager` is apk or dpkg for an OS package, NPM or PYTHON for a language package; a language package has no
    source package of its own (`source_*` repeat name and version) and no arch, and `path` is the manifest it
    was read from (Inspector's `filePath`), "" for OS packages."""

    name: str
    version: str
    source_name: str
    source_version: str
    arch: str
    manager: str
    layer: str
    path: str = ""

    @property
    def is_language(self) -> bool:
        return self.manager in (NPM, PYTHON)


def _os_release_fields(text: str) -> dict[str, str]:
    fields = {}
    for line in text.splitlines():
        key, sep, value = line.partition("=")
        if sep and key.strip() and not key.lstrip().startswith("#"):
            try:
                words = shlex.split(value, comments=False)
            except ValueError:
                words = [value.strip().strip("\"'")]
            fields[key.strip()] = " ".join(words)
    return fields


def detect_os(view: FsView) -> OsInfo | None:
    """Alpine or Debian from os-release; None for anything else (the scanner reports UNSUPPORTED_IMAGE)."""
    raw = next((data for path in _OS_RELEASE if (data := view.read(path)) is not None), None)
    if raw is None:
        return None
    fields = _os_release_fields(raw.decode("utf-8", "replace"))
    os_id, version_id = fields.get("ID", "").lower(), fields.get("VERSION_ID", "")
    if os_id == "alpine":
        match = re.match(r"(\d+)\.(\d+)", version_id)
        release = f"{match[1]}.{match[2]}" if match else None
    elif os_id == "debian":
        match = re.match(r"\d+", version_id)
        release = match[0] if match else None  # testing and sid carry no VERSION_ID
    else:
        release = None
    if release is None:
        return None
    return OsInfo(os_id, version_id, release, fields.get("PRETTY_NAME", ""))


def installed_packages(view: FsView, os_info: OsInfo) -> list[Package]:
    """Packages in the apk or dpkg database, each tagged with the layer that brought its current version."""
    if os_info.id == "alpine":
        packages = list(_packages(view.history(_APK_DB), _apk_records, "apk"))
    else:
        packages = list(_packages(view.history(_DPKG_STATUS), _dpkg_records, "dpkg"))
        for name in view.listdir(_DPKG_STATUS_D):
            history = view.history(f"{_DPKG_STATUS_D}/{name}")
            packages.extend(_packages(history, _dpkg_status_d_records, "dpkg"))
    unique = {(p.name, p.arch): p for p in reversed(packages)}
    return sorted(unique.values(), key=lambda p: (p.name, p.arch, p.version))


def _packages(
    history: list[tuple[str, bytes]], parse: Callable[[bytes], tuple[_Record, ...]], manager: str
) -> Iterator[Package]:
    """Packages in the newest copy of a database, each credited to the oldest layer it is unchanged since."""
    if not history:
        return
    current = parse(history[-1][1])
    older = [({(r[0], r[1], r[4]) for r in parse(data)}, digest) for digest, data in history[:-1]]
    for name, version, source_name, source_version, arch in current:
        layer = history[-1][0]
        for names, digest in reversed(older):
            if (name, version, arch) not in names:
                break
            layer = digest
        yield Package(name, version, source_name, source_version, arch, manager, layer)


# A package database's records, by its bytes: images built on one base share them, and a scan parses each layer's
# copy to credit packages to layers. Bounded: a Debian status file is a few hundred KiB.
_PARSED_DATABASES = 32


@lru_cache(maxsize=_PARSED_DATABASES)
def _apk_records(data: bytes) -> tuple[_Record, ...]:
    """apk's installed db: blank-line separated `X:value` records (P name, V version, A arch, o origin)."""
    records = []
    fields: dict[str, str] = {}
    for line in [*data.decode("utf-8", "replace").splitlines(), ""]:
        if line:
            key, sep, value = line.partition(":")
            if sep and len(key) == 1 and key in "PVAo":
                fields[key] = value
            continue
        if "P" in fields and "V" in fields:
            name, version = fields["P"], fields["V"]
            records.append((name, version, fields.get("o") or name, version, fields.get("A", "")))
        fields = {}
    return tuple(records)


def _dpkg_stanzas(data: bytes) -> Iterator[dict[str, str]]:
    """deb822 stanzas with just the fields a scan needs (continuation lines skipped)."""
    fields: dict[str, str] = {}
    for line in [*data.decode("utf-8", "replace").splitlines(), ""]:
        if not line.strip():
            if fields:
                yield fields
            fields = {}
        elif not line[0].isspace():
            key, sep, value = line.partition(":")
            if sep and key in ("Package", "Version", "Architecture", "Source", "Status"):
                fields[key] = value.strip()


def _dpkg_record(fields: dict[str, str]) -> _Record | None:
    if not fields.get("Package") or not fields.get("Version"):
        return None
    name, version = fields["Package"], fields["Version"]
    source_name, source_version = name, version
    if source := fields.get("Source"):
        # Binary NMUs and renamed binaries say `Source: bash (5.2.15-2)`: advisories use that version.
        match = re.fullmatch(r"(\S+)(?:\s+\((\S+)\))?", source)
        if match:
            source_name, source_version = match[1], match[2] or version
    return name, version, source_name, source_version, fields.get("Architecture", "")


def _installed(status: str) -> bool:
    """dpkg's `Status: want flag state`: only an ok, fully installed package counts (held ones included)."""
    want, flag, state = [*status.split(), "", "", ""][:3]
    return want in ("install", "hold") and flag == "ok" and state == "installed"


@lru_cache(maxsize=_PARSED_DATABASES)
def _dpkg_records(data: bytes) -> tuple[_Record, ...]:
    stanzas = (s for s in _dpkg_stanzas(data) if _installed(s.get("Status", "")))
    return tuple(r for s in stanzas if (r := _dpkg_record(s)) is not None)


@lru_cache(maxsize=_PARSED_DATABASES)
def _dpkg_status_d_records(data: bytes) -> tuple[_Record, ...]:
    """Distroless writes stanzas without Status; one that has a Status is honoured like dpkg's own db."""
    stanzas = (s for s in _dpkg_stanzas(data) if "Status" not in s or _installed(s["Status"]))
    return tuple(r for s in stanzas if (r := _dpkg_record(s)) is not None)


def language_packages(view: FsView) -> list[Package]:
    """npm and Python packages found anywhere in the image, each tagged with the layer that brought its current
    name and version (an unchanged rewrite keeps the older layer, as for OS packages). Found whether or not the
    image has an OS the scanner knows."""
    packages = []
    for path in view.language_manifests():
        manager = _language_manifest(path)
        parse = _npm_manifest if manager == NPM else _python_metadata
        history = view.history(path)
        current = parse(history[-1][1])
        if current is None or manager is None:
            continue
        layer = history[-1][0]
        for digest, data in reversed(history[:-1]):
            if parse(data) != current:
                break
            layer = digest
        name, version = current
        packages.append(Package(name, version, name, version, "", manager, layer, path))
    return packages


def _npm_manifest(data: bytes) -> tuple[str, str] | None:
    """`name` and `version` of a package.json; None when it is not JSON or lacks either."""
    try:
        document = json.loads(data)
    except ValueError:
        return None
    if not isinstance(document, dict):
        return None
    name, version = document.get("name"), document.get("version")
    return (name, version) if isinstance(name, str) and isinstance(version, str) and name and version else None


def _python_metadata(data: bytes) -> tuple[str, str] | None:
    """`Name` and `Version` from a dist-info METADATA's header block (email headers, ended by a blank line)."""
    fields: dict[str, str] = {}
    for line in data.decode("utf-8", "replace").splitlines():
        if not line.strip():
            break
        key, sep, value = line.partition(":")
        if sep and not line[0].isspace() and key in ("Name", "Version"):
            fields.setdefault(key, value.strip())
    name, version = fields.get("Name"), fields.get("Version")
    return (name, version) if name and version else None
