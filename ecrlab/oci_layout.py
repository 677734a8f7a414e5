"""Read OCI image layouts (image-layout 1.0) from disk.

The sample images in data/images/ are OCI layouts: plain files (`oci-layout`, `index.json`,
`blobs/sha256/<hex>`) that can be committed, verified by digest, and pushed blob by blob to the
emulator or to ECR. This module is the one place that knows how a layout links together: tags live in
index.json as `org.opencontainers.image.ref.name` annotations, and every other blob is reached by
following descriptors from there (image index -> manifests -> config and layers).

Reads are verified: a blob whose bytes do not hash to its name raises instead of being pushed.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ecrlab.errors import EcrlabError

REF_NAME_ANNOTATION = "org.opencontainers.image.ref.name"
INDEX_MEDIA_TYPES = frozenset(
    {
        "application/vnd.oci.image.index.v1+json",
        "application/vnd.docker.distribution.manifest.list.v2+json",
    }
)
MANIFEST_MEDIA_TYPES = frozenset(
    {
        "application/vnd.oci.image.manifest.v1+json",
        "application/vnd.docker.distribution.manifest.v2+json",
    }
)
_DIGEST = re.compile(r"^sha256:[0-9a-f]{64}$")

Descriptor = dict[str, Any]


class OciLayoutError(EcrlabError, ValueError):
    """A layout is missing, malformed, or a blob in it does not match its digest."""


@dataclass(frozen=True)
class OciLayout:
    """An OCI image layout on disk: its index.json and the tags it names."""

    path: Path
    index: dict[str, Any]
    refs: dict[str, Descriptor]  # tag -> descriptor in index.json


def read_layout(path: str | Path) -> OciLayout:
    """Open the layout at `path`; tags come from the ref.name annotations in index.json."""
    root = Path(path)
    try:
        marker = json.loads((root / "oci-layout").read_text())
        index = json.loads((root / "index.json").read_text())
    except FileNotFoundError as exc:
        raise OciLayoutError(f"{root} is not an OCI image layout: {exc.filename} is missing") from exc
    except json.JSONDecodeError as exc:
        raise OciLayoutError(f"{root}: invalid JSON in oci-layout or index.json: {exc}") from exc
    if marker.get("imageLayoutVersion") != "1.0.0":
        raise OciLayoutError(f"{root}: unsupported imageLayoutVersion {marker.get('imageLayoutVersion')!r}")
    refs = {
        desc["annotations"][REF_NAME_ANNOTATION]: desc
        for desc in index.get("manifests", [])
        if REF_NAME_ANNOTATION in desc.get("annotations", {})
    }
    return OciLayout(path=root, index=index, refs=refs)


def read_blob(layout: OciLayout, digest: str) -> bytes:
    """The bytes of blob `digest`, checked against the digest."""
    if not _DIGEST.match(digest):
        raise OciLayoutError(f"{digest!r} is not a sha256 digest (expected 'sha256:' and 64 hex digits)")
    blob_path = layout.path / "blobs" / "sha256" / digest.removeprefix("sha256:")
    try:
        data = blob_path.read_bytes()
    except FileNotFoundError as exc:
        raise OciLayoutError(f"{layout.path}: blob {digest} is missing") from exc
    actual = "sha256:" + hashlib.sha256(data).hexdigest()
    if actual != digest:
        raise OciLayoutError(f"{blob_path} is corrupt: its content hashes to {actual}; rebuild the layout")
    return data


def manifests_for(layout: OciLayout, tag: str) -> list[tuple[Descriptor, dict[str, Any]]]:
    """Every image manifest `tag` resolves to, with its descriptor; an image index is walked to its leaves."""
    found: list[tuple[Descriptor, dict[str, Any]]] = []

    def visit(desc: Descriptor) -> None:
        doc, is_index = _load(layout, desc)
        if is_index:
            for child in doc.get("manifests", []):
                visit(child)
        else:
            found.append((desc, doc))

    visit(_ref(layout, tag))
    return found


def blob_digests(layout: OciLayout, tag: str) -> list[str]:
    """All blobs reachable from `tag`, each once and after every blob it references.

    That is push order: layers and config before their manifest, manifests before their index.
    Manifests and indexes are read (and verified) on the way; configs and layers are only listed.
    """
    ordered: list[str] = []

    def add(digest: str) -> None:
        if digest not in ordered:
            ordered.append(digest)

    def visit(desc: Descriptor) -> None:
        doc, is_index = _load(layout, desc)
        if is_index:
            for child in doc.get("manifests", []):
                visit(child)
        else:
            for child in (doc["config"], *doc.get("layers", [])):
                add(child["digest"])
        add(desc["digest"])

    visit(_ref(layout, tag))
    return ordered


def _ref(layout: OciLayout, tag: str) -> Descriptor:
    try:
        return layout.refs[tag]
    except KeyError:
        known = ", ".join(sorted(layout.refs)) or "none"
        raise OciLayoutError(f"{layout.path}: no tag {tag!r} (tags: {known})") from None


def _load(layout: OciLayout, desc: Descriptor) -> tuple[dict[str, Any], bool]:
    """The parsed document `desc` points at, and whether it is an image index (else an image manifest)."""
    doc = json.loads(read_blob(layout, desc["digest"]))
    media_type = desc.get("mediaType") or doc.get("mediaType")
    if media_type in INDEX_MEDIA_TYPES:
        return doc, True
    if media_type in MANIFEST_MEDIA_TYPES:
        return doc, False
    raise OciLayoutError(f"{layout.path}: {desc['digest']} has unsupported media type {media_type!r}")
