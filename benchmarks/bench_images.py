"""P-images: the emulator's /v2/ data plane — throughput against a plain disk copy, and server memory by image size.

A generated image (incompressible random layers, written as an OCI layout in a temporary directory at run time)
is pushed with `ecrlab.images.push` to an `ecrlab emulator serve` process and pulled back with
`ecrlab.images.pull`. The baseline is copying the same blob files on the same disk in the same run. The server's
peak RSS (VmHWM) is read after each size from a fresh server: blobs stream to disk, so it should stay flat.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import ecrlab
from ecrlab import images

LAYER_MB = 10
THROUGHPUT_MB = 50
RSS_SIZES_MB = (10, 50, 100)


def write_blob(layout: Path, data: bytes) -> dict[str, object]:
    digest = hashlib.sha256(data).hexdigest()
    (layout / "blobs" / "sha256" / digest).write_bytes(data)
    return {"digest": f"sha256:{digest}", "size": len(data)}


def generate_image(layout: Path, size_mb: int) -> None:
    """An OCI layout tagged `bench` with `size_mb` MB of random layers (10 MB each; none for 0)."""
    (layout / "blobs" / "sha256").mkdir(parents=True)
    layers = [
        {"mediaType": "application/vnd.oci.image.layer.v1.tar", **write_blob(layout, os.urandom(LAYER_MB * 10**6))}
        for _ in range(size_mb // LAYER_MB)
    ]
    config = write_blob(layout, json.dumps({"architecture": "amd64", "os": "linux"}).encode())
    manifest = {
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json", **config},
        "layers": layers,
    }
    entry = write_blob(layout, json.dumps(manifest).encode())
    index = {
        "schemaVersion": 2,
        "manifests": [
            {
                "mediaType": manifest["mediaType"],
                **entry,
                "annotations": {"org.opencontainers.image.ref.name": "bench"},
            }
        ],
    }
    (layout / "index.json").write_text(json.dumps(index))
    (layout / "oci-layout").write_text('{"imageLayoutVersion":"1.0.0"}')


class Server:
    """`ecrlab emulator serve` in its own process, so its memory is measured apart from the client's."""

    def __init__(self, data_dir: Path) -> None:
        command = [str(Path(sys.executable).parent / "ecrlab"), "emulator", "serve", "--port", "0"]
        self.proc = subprocess.Popen(
            [*command, "--data-dir", str(data_dir)], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True
        )
        assert self.proc.stdout is not None
        self.url = self.proc.stdout.readline().strip()

    def peak_rss_mb(self) -> float:
        for line in Path(f"/proc/{self.proc.pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
        raise RuntimeError("no VmHWM in /proc status")

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(timeout=30)


def round_trip(work: Path, layout: Path, name: str) -> tuple[float, float, float]:
    """(push seconds, pull seconds, server peak RSS MB) against a fresh server, warmed up by an empty image."""
    server = Server(work / f"{name}-data")
    try:
        registry = ecrlab.connect(endpoint_url=server.url)
        registry.client().create_repository(repositoryName="bench")
        warm_up = work / f"{name}-warm-up"
        generate_image(warm_up, 0)
        images.pull(registry, "bench", images.push(registry, warm_up, "bench"), warm_up, progress=None)
        start = time.perf_counter()
        images.push(registry, layout, "bench", progress=None)
        pushed = time.perf_counter()
        images.pull(registry, "bench", "bench", work / f"{name}-pulled", progress=None)
        pulled = time.perf_counter()
        return pushed - start, pulled - pushed, server.peak_rss_mb()
    finally:
        server.stop()


def disk_copy_seconds(layout: Path, dest: Path) -> float:
    dest.mkdir()
    start = time.perf_counter()
    for blob in (layout / "blobs" / "sha256").iterdir():
        shutil.copyfile(blob, dest / blob.name)
    return time.perf_counter() - start


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="ecrlab-bench-images-") as tmp:
        work = Path(tmp)
        layout = work / "image-50"
        generate_image(layout, THROUGHPUT_MB)
        baseline = disk_copy_seconds(layout, work / "disk-copy")
        push_s, pull_s, _ = round_trip(work, layout, "throughput")
        mb = THROUGHPUT_MB
        print(
            f"{mb} MB image: push {mb / push_s:.0f} MB/s, pull {mb / pull_s:.0f} MB/s, "
            f"disk copy of the same blobs {mb / baseline:.0f} MB/s"
        )
        print(f"ratio push/disk-copy time = {push_s / baseline:.1f}, pull/disk-copy time = {pull_s / baseline:.1f}")
        for size in RSS_SIZES_MB:
            sized = work / f"image-{size}-rss"
            generate_image(sized, size)
            _, _, peak = round_trip(work, sized, f"rss-{size}")
            print(f"server peak RSS after pushing and pulling {size:>3} MB: {peak:.0f} MB")
            shutil.rmtree(sized)


if __name__ == "__main__":
    main()
