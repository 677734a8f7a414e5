"""The scanner's cost against a full-size feed: load time and memory of 100,000 OSV advisories, then the warm
per-image scan time, with the time to only parse the image's layers (measured in the same run) as baseline.
Target: a warm scan of an image with a few hundred packages in ≤ 50 ms.

Then the integrated path, against the pure scan of the same image in the same run: a new image (same layers,
its own config, so its own digest) is pushed to the embedded emulator and `StartImageScan` is timed — HTTP,
authorisation, moto's dispatch, reading the layers from the blob store, the scan and the ECR-shaped findings —
and so is reading all of them back with `DescribeImageScanFindings` (maxResults 1000).
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import resource
import statistics
import tarfile
import tempfile
import time
import zipfile
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import ecrlab
from ecrlab import images
from ecrlab.emulator.findings import basic_scan_findings
from ecrlab.emulator.rootfs import FsView, Layer, detect_os, installed_packages, language_packages
from ecrlab.vulndb import VulnDb

ADVISORIES = 100_000
PACKAGE_NAMES = 5_000
IMAGE_PACKAGES = 300
FILLER_FILES = 3_000
RUNS = 50
ECOSYSTEMS = ("Alpine:v3.18", "Alpine:v3.19", "Alpine:v3.20", "Debian:11", "Debian:12")
DETAILS = "A crafted input makes the library read past the end of a heap buffer and crash. " * 4


def _fixed_version(ecosystem: str, i: int) -> str:
    if ecosystem.startswith("Alpine"):
        return f"{i % 4}.{i % 13}.{i % 7}-r{i % 5}"
    return f"{i % 4}.{i % 13}-{i % 3}+deb12u{i % 4}"


def write_feed(path: Path) -> None:
    """An all.zip shaped like OSV's: one record per file, spread over five releases and 5,000 packages."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for i in range(ADVISORIES):
            ecosystem = ECOSYSTEMS[i % len(ECOSYSTEMS)]
            name = f"lib{(i * 7919) % PACKAGE_NAMES:04d}"
            cve = f"CVE-{2000 + i % 25}-{100000 + i}"
            record = {
                "id": f"{ecosystem.split(':')[0].upper()}-{cve}",
                "modified": f"2025-0{1 + i % 5}-01T00:00:00Z",
                "aliases": [cve],
                "summary": f"{name}: heap buffer over-read",
                "details": DETAILS,
                "severity": [{"type": "CVSS_V3", "score": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:H"}],
                "affected": [
                    {
                        "package": {"ecosystem": ecosystem, "name": name},
                        "ranges": [
                            {
                                "type": "ECOSYSTEM",
                                "events": [{"introduced": "0"}, {"fixed": _fixed_version(ecosystem, i)}],
                            }
                        ],
                    }
                ],
                "references": [
                    {"type": "ADVISORY", "url": f"https://security-tracker.example/{cve}"},
                    {"type": "WEB", "url": f"https://nvd.nist.gov/vuln/detail/{cve}"},
                ],
            }
            archive.writestr(f"{record['id']}.json", json.dumps(record))


def _layer(files: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return gzip.compress(buffer.getvalue(), compresslevel=6, mtime=0)


def debian_image() -> list[Layer]:
    """Three layers, each rewriting dpkg's status with more packages, plus files the scanner must skip."""
    stanzas = [
        f"Package: lib{i:04d}-bin\nStatus: install ok installed\nArchitecture: amd64\nSource: lib{i:04d}\n"
        f"Version: {i % 4}.{i % 11}-1+deb12u1\nDescription: package {i}\n more text\n"
        for i in range(IMAGE_PACKAGES)
    ]
    release = b'ID=debian\nVERSION_ID="12"\nPRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\n'
    layers = []
    for n, upto in enumerate((100, 200, IMAGE_PACKAGES)):
        files = {f"usr/share/doc/pkg{n}-{i}/copyright": b"x" * 200 for i in range(FILLER_FILES // 3)}
        files["var/lib/dpkg/status"] = "\n".join(stanzas[:upto]).encode()
        if n == 0:
            files["etc/os-release"] = release
        layers.append(Layer.of(_layer(files)))
    return layers


def alpine_image() -> list[Layer]:
    records = "".join(
        f"P:lib{i:04d}-libs\nV:{i % 4}.{i % 9}.{i % 5}-r{i % 3}\nA:x86_64\no:lib{i:04d}\n\n"
        for i in range(IMAGE_PACKAGES)
    )
    files = {f"usr/share/doc/pkg-{i}/README": b"x" * 200 for i in range(FILLER_FILES)}
    files.update({"etc/os-release": b"ID=alpine\nVERSION_ID=3.19.1\n", "lib/apk/db/installed": records.encode()})
    return [Layer.of(_layer(files))]


def median_ms(*actions: Callable[[], object]) -> list[float]:
    """Median wall time of each action; runs alternate so that load from other processes hits all alike."""
    times: list[list[float]] = [[] for _ in actions]
    for action in actions:
        action()  # warm: parsed version keys and sorted ranges are cached from here on
    for _ in range(RUNS):
        for action, samples in zip(actions, times, strict=True):
            start = time.perf_counter()
            action()
            samples.append((time.perf_counter() - start) * 1000)
    return [statistics.median(samples) for samples in times]


def write_layout(root: Path, layers: list[Layer], tags: int) -> None:
    """An OCI layout with `tags` images (`run-0`…) that share `layers` and differ only in their config."""
    blobs = root / "blobs" / "sha256"
    blobs.mkdir(parents=True)

    def blob(data: bytes) -> dict[str, object]:
        digest = hashlib.sha256(data).hexdigest()
        (blobs / digest).write_bytes(data)
        return {"digest": f"sha256:{digest}", "size": len(data)}

    gz = "application/vnd.oci.image.layer.v1.tar+gzip"
    layer_descriptors = [{"mediaType": gz, **blob(layer.blob)} for layer in layers if isinstance(layer.blob, bytes)]
    entries = []
    for i in range(tags):
        config = {"architecture": "amd64", "os": "linux", "config": {"Labels": {"run": str(i)}}}
        manifest = {
            "schemaVersion": 2,
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "config": {"mediaType": "application/vnd.oci.image.config.v1+json", **blob(json.dumps(config).encode())},
            "layers": layer_descriptors,
        }
        entries.append(
            {
                "mediaType": manifest["mediaType"],
                **blob(json.dumps(manifest).encode()),
                "annotations": {"org.opencontainers.image.ref.name": f"run-{i}"},
            }
        )
    (root / "index.json").write_text(json.dumps({"schemaVersion": 2, "manifests": entries}))
    (root / "oci-layout").write_text('{"imageLayoutVersion": "1.0.0"}')


def api_ms(registry: ecrlab.Registry, name: str, layers: list[Layer], pure: Callable[[], object]) -> list[float]:
    """Medians of the pure scan, StartImageScan and DescribeImageScanFindings, run in turns on new images."""
    ecr = registry.client()
    ecr.create_repository(repositoryName=name)
    times: list[list[float]] = [[], [], []]
    with tempfile.TemporaryDirectory() as tmp:
        write_layout(Path(tmp), layers, RUNS + 1)
        for i in range(RUNS + 1):
            image = {"imageTag": f"run-{i}"}
            images.push(registry, f"{tmp}:run-{i}", name)
            steps = (
                pure,
                lambda image=image: ecr.start_image_scan(repositoryName=name, imageId=image),
                lambda image=image: ecr.describe_image_scan_findings(
                    repositoryName=name, imageId=image, maxResults=1000
                ),
            )
            for step, samples in zip(steps, times, strict=True):
                start = time.perf_counter()
                step()
                samples.append((time.perf_counter() - start) * 1000)
    return [statistics.median(samples[1:]) for samples in times]  # the first run warms caches


def main() -> None:
    from ecrlab.emulator import scanner

    with tempfile.TemporaryDirectory() as tmp:
        feed_path = Path(tmp) / "all.zip"
        write_feed(feed_path)
        rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        start = time.perf_counter()
        db = VulnDb.load(feed_path)
        load_s = time.perf_counter() - start
        rss_after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        size_mb = feed_path.stat().st_size / 1e6
        registry = ecrlab.connect()  # the embedded emulator serves from this process, so it can use the same feed
        scanner.use_feed(feed_path)
    print(f"feed: {db.advisory_count} advisories (all.zip {size_mb:.1f} MB)")
    print(f"  load time: {load_s:.2f} s")
    print(f"  peak memory growth while loading (max RSS): {(rss_after - rss_before) / 1024:.0f} MiB")
    now = datetime.now(UTC)
    for name, layers in (("debian-12", debian_image()), ("alpine-3.19", alpine_image())):

        def scan(layers: list[Layer] = layers) -> int:
            view = FsView(layers)
            os_info = detect_os(view)
            assert os_info is not None
            packages = [*installed_packages(view, os_info), *language_packages(view)]  # as the emulator's scanner
            matches = db.matches(os_info, packages)
            return len(basic_scan_findings(matches, completed_at=now, source_updated_at=db.updated_at)["findings"])

        findings = scan()
        scan_ms, baseline_ms = median_ms(scan, lambda layers=layers: FsView(layers))
        print(
            f"image {name}: {IMAGE_PACKAGES} packages, {len(layers)} layers, {FILLER_FILES} other files, "
            f"{findings} findings"
        )
        print(f"  warm scan: {scan_ms:.1f} ms median of {RUNS}")
        print(f"  baseline (parse layers only): {baseline_ms:.1f} ms; scan / baseline = {scan_ms / baseline_ms:.2f}")
        pure_ms, start_ms, read_ms = api_ms(registry, name, layers, scan)
        print(
            f"  through the API, a new image each run: StartImageScan {start_ms:.1f} ms vs the pure scan "
            f"{pure_ms:.1f} ms in the same turns (x{start_ms / pure_ms:.2f}); DescribeImageScanFindings of all "
            f"{findings}: {read_ms:.1f} ms"
        )


if __name__ == "__main__":
    main()
