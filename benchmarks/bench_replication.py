"""P-replication: replicating 200 images to 5 destinations, against pushing them once; blob-store growth.

200 generated images (a random 64 KiB layer and a config each, in 20 repositories) are pushed over `/v2/` with
`ecrlab.images.push` to the embedded emulator while a one-rule configuration sends every repository to 5 regions;
`settle()` then carries out the 1,000 replications. The baseline is the 200 pushes in the same run. The store is
content-addressed and a replication only records blobs against the destination repository, so the bytes on disk
should not grow at all while replicating.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
import time
from pathlib import Path

import ecrlab
from ecrlab import images
from ecrlab.emulator.blobstore import shared_store

IMAGES, REPOSITORIES, LAYER_BYTES = 200, 20, 64 * 1024
DESTINATIONS = ("eu-west-1", "eu-central-1", "ap-south-1", "ap-southeast-2", "sa-east-1")


def write_blob(layout: Path, data: bytes) -> dict[str, object]:
    digest = hashlib.sha256(data).hexdigest()
    (layout / "blobs" / "sha256" / digest).write_bytes(data)
    return {"digest": f"sha256:{digest}", "size": len(data)}


def generate_layout(layout: Path, count: int) -> None:
    """One OCI layout holding `count` images tagged img-0 … img-<count-1>."""
    (layout / "blobs" / "sha256").mkdir(parents=True)
    entries = []
    for number in range(count):
        config = write_blob(layout, json.dumps({"architecture": "amd64", "os": "linux", "n": number}).encode())
        layer = write_blob(layout, os.urandom(LAYER_BYTES))
        manifest = {
            "schemaVersion": 2,
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "config": {"mediaType": "application/vnd.oci.image.config.v1+json", **config},
            "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar", **layer}],
        }
        entry = write_blob(layout, json.dumps(manifest).encode())
        entries.append(
            {
                "mediaType": manifest["mediaType"],
                **entry,
                "annotations": {"org.opencontainers.image.ref.name": f"img-{number}"},
            }
        )
    (layout / "index.json").write_text(json.dumps({"schemaVersion": 2, "manifests": entries}))
    (layout / "oci-layout").write_text('{"imageLayoutVersion":"1.0.0"}')


def stored_bytes() -> int:
    return sum(p.stat().st_size for p in (Path(shared_store().root) / "blobs").rglob("*") if p.is_file())


def main() -> None:
    registry = ecrlab.connect()
    assert registry.emulator is not None
    registry.emulator.reset()
    ecr = registry.client()
    account = registry.account_id
    destinations = [{"region": region, "registryId": account} for region in DESTINATIONS]
    ecr.put_replication_configuration(replicationConfiguration={"rules": [{"destinations": destinations}]})
    for number in range(REPOSITORIES):
        ecr.create_repository(repositoryName=f"bench/repo-{number}")
    with tempfile.TemporaryDirectory() as tmp:
        layout = Path(tmp) / "layout"
        generate_layout(layout, IMAGES)
        started = time.perf_counter()
        for number in range(IMAGES):
            images.push(registry, f"{layout}:img-{number}", f"bench/repo-{number % REPOSITORIES}", progress=None)
        pushing = time.perf_counter() - started
    before = stored_bytes()
    started = time.perf_counter()
    ran = registry.emulator.settle()
    replicating = time.perf_counter() - started
    growth = stored_bytes() - before
    copies = sum(
        len(registry.in_region(region).client().describe_images(repositoryName=f"bench/repo-{n}")["imageDetails"])
        for region in DESTINATIONS
        for n in range(REPOSITORIES)
    )
    print(f"pushed {IMAGES} images once:                   {pushing:.2f} s ({1000 * pushing / IMAGES:.1f} ms each)")
    print(
        f"replicated them to {len(DESTINATIONS)} destinations:       {replicating:.2f} s "
        f"({ran} replications, {1000 * replicating / ran:.2f} ms each; {copies} images at the destinations)"
    )
    print(f"replication time / push time:             {replicating / pushing:.2f}")
    print(f"blob store before replication:            {before} bytes")
    print(f"blob store growth while replicating:      {growth} bytes")


if __name__ == "__main__":
    main()
