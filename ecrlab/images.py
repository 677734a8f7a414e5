"""Push, pull, copy and inspect images over the OCI distribution API with ECR's auth — on AWS and the emulator.

The address and the password both come from `GetAuthorizationToken` (`proxyEndpoint`, base64 `AWS:<password>`),
so the same code talks to `https://<account>.dkr.ecr.<region>.amazonaws.com` and to the emulator's loopback
address; a pull may also come straight from an upstream registry by URL (`UpstreamRegistry`). The walk itself is
`ecrlab.oci_transfer`'s: a source hands manifests and blob streams to a sink, children before the index that lists
them, blobs before their manifest, skipping blobs the sink already has. Blobs stream in chunks, so memory stays
flat.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ecrlab.oci_layout import INDEX_MEDIA_TYPES
from ecrlab.oci_transfer import (
    Descriptor,
    LayoutSink,
    LayoutSource,
    Progress,
    RegistryEndpoint,
    RegistrySink,
    RegistrySource,
    Transfer,  # noqa: F401 (progress callbacks receive it: images.Transfer)
    UpstreamRegistry,
    media_type_of,
    print_large_transfers,
    transfer,
)

if TYPE_CHECKING:
    from ecrlab.registry import Registry


def _split_source(source: str | Path) -> tuple[Path, str | None]:
    """`dir` or `dir:tag`, as skopeo's `oci:` transport spells it."""
    text = str(source)
    if Path(text).is_dir() or ":" not in text:
        return Path(text), None
    path, _, tag = text.rpartition(":")
    return Path(path), tag


def push(
    registry: Registry,
    source: str | Path,
    repository: str,
    tag: str | None = None,
    *,
    progress: Progress | None = print_large_transfers,
    registry_id: str | None = None,
) -> str:
    """Push an OCI layout (`dir`, or `dir:tag` when it holds several) to `repository`; returns the digest.

    The image is tagged `tag`, or the layout's tag when none is given. Blobs the repository has are skipped.
    `registry_id` reaches another account's registry (its policies must allow the caller).
    """
    layout_path, source_tag = _split_source(source)
    layout = LayoutSource(layout_path)
    root, source_tag = layout.root(source_tag)
    sink = RegistrySink(RegistryEndpoint(registry, registry_id), repository)
    transfer(layout, sink, root, tag or source_tag, progress)
    return root["digest"]


def pull(
    registry: Registry | UpstreamRegistry,
    repository: str,
    ref: str,
    dest_dir: str | Path,
    *,
    progress: Progress | None = print_large_transfers,
    registry_id: str | None = None,
) -> str:
    """Pull `repository:ref` (a tag or digest) into the OCI layout at `dest_dir`; returns the digest.

    `registry` is an ECR registry (with its auth; `registry_id` reaches another account's), or an upstream
    registry by URL (`UpstreamRegistry`), as a CI job pulls straight from Docker Hub.
    """
    endpoint = registry if isinstance(registry, UpstreamRegistry) else RegistryEndpoint(registry, registry_id)
    source = RegistrySource(endpoint, repository)
    root = source.root(ref)
    sink = LayoutSink(Path(dest_dir))
    transfer(source, sink, root, ref, progress)
    sink.name(root, None if ref.startswith("sha256:") else ref)
    return root["digest"]


def copy(
    src_registry: Registry,
    src_repo: str,
    ref: str,
    dst_registry: Registry,
    dst_repo: str,
    tag: str | None = None,
    *,
    progress: Progress | None = print_large_transfers,
) -> str:
    """Copy an image between repositories or registries, streaming blobs; returns the digest.

    Within one registry, blobs are mounted from the source repository when the registry allows it.
    """
    source = RegistrySource(RegistryEndpoint(src_registry), src_repo)
    root = source.root(ref)
    same_registry = (src_registry.account_id, src_registry.region) == (dst_registry.account_id, dst_registry.region)
    sink = RegistrySink(RegistryEndpoint(dst_registry), dst_repo, mount_from=src_repo if same_registry else None)
    transfer(source, sink, root, tag or (root["digest"] if ref.startswith("sha256:") else ref), progress)
    return root["digest"]


def inspect(registry: Registry, repository: str, ref: str, *, registry_id: str | None = None) -> dict[str, Any]:
    """What an image is: digest, media type, size (as ECR counts it), platforms, layers, an index's manifests."""
    source = RegistrySource(RegistryEndpoint(registry, registry_id), repository)
    return {"repository": repository, "reference": ref, **_describe(source, source.root(ref))}


def _describe(source: RegistrySource, desc: Descriptor) -> dict[str, Any]:
    data = source.manifest(desc)
    doc, media_type = json.loads(data), media_type_of(desc, data)
    described: dict[str, Any] = {"digest": desc["digest"], "media_type": media_type}
    if media_type in INDEX_MEDIA_TYPES:
        children = [_describe(source, child) for child in doc.get("manifests", [])]
        return {
            **described,
            "size": max((child["size"] for child in children), default=0),
            "platforms": [platform for child in children for platform in child["platforms"]],
            "layers": [],
            "manifests": [{k: v for k, v in child.items() if k not in ("layers", "manifests")} for child in children],
        }
    with source.blob(doc["config"]) as reader:
        config = json.loads(reader.read())
    layers = doc.get("layers", [])
    platform = "/".join(filter(None, (config.get("os"), config.get("architecture"), config.get("variant"))))
    return {
        **described,
        "size": doc["config"]["size"] + sum(layer["size"] for layer in layers),
        "platforms": [platform],
        "layers": [{"digest": la["digest"], "size": la["size"], "media_type": la.get("mediaType")} for la in layers],
        "manifests": [],
    }
