"""The scanner's cost against a full-size feed: the layer walk, load time and memory of 100,000 OSV advisories, then
the warm per-image scan time, with the time to only merge the image's layers (measured in the same run) as baseline.
Targets: a layer read once per digest applies in <= 2 us per file (a 30,000-file layer); the feed, indexed once,
loads in <= 1 s and takes <= 60 MiB per 100,000 advisories (each measured in a fresh process); P4: a warm scan of
an image with 300 packages in <= 50 ms.

Then the integrated path, against the pure scan of the same image in the same run: a new image (same layers,
its own config, so its own digest) is pushed to the embedded emulator and `StartImageScan` with the scan it queues
(finished by `settle()`) is timed — HTTP, authorisation, moto's dispatch, reading the layers from the blob store, the
scan and the ECR-shaped findings — and so is reading all of them back with `DescribeImageScanFindings` (maxResults
1000).
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import os
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
import zipfile
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from rounds import report

import ecrlab
from ecrlab import images
from ecrlab.emulator.rootfs import FsView, Layer, detect_os, installed_packages, language_packages
from ecrlab.emulator.scan_findings import basic_scan_findings
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


def samples_ms(*actions: Callable[[], object]) -> list[list[tuple[float, float]]]:
    """(wall, CPU) milliseconds of each run of each action; runs alternate so that load from other processes hits
    all alike. CPU is this thread's: on a shared machine wall time also counts waiting for a core."""
    times: list[list[tuple[float, float]]] = [[] for _ in actions]
    for action in actions:
        action()  # warm: parsed version keys and sorted ranges are cached from here on
    for _ in range(RUNS):
        for action, samples in zip(actions, times, strict=True):
            start, cpu = time.perf_counter(), time.thread_time()
            action()
            samples.append(((time.perf_counter() - start) * 1000, (time.thread_time() - cpu) * 1000))
    return times


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
    assert registry.emulator is not None
    settle = registry.emulator.settle  # the scan runs in the background: StartImageScan, then the scan itself
    times: list[list[float]] = [[], [], []]
    with tempfile.TemporaryDirectory() as tmp:
        write_layout(Path(tmp), layers, RUNS + 1)
        for i in range(RUNS + 1):
            image = {"imageTag": f"run-{i}"}
            images.push(registry, f"{tmp}:run-{i}", name)
            steps = (
                pure,
                lambda image=image: (ecr.start_image_scan(repositoryName=name, imageId=image), settle()),
                lambda image=image: ecr.describe_image_scan_findings(
                    repositoryName=name, imageId=image, maxResults=1000
                ),
            )
            for step, samples in zip(steps, times, strict=True):
                start = time.perf_counter()
                step()
                samples.append((time.perf_counter() - start) * 1000)
    return [statistics.median(samples[1:]) for samples in times]  # the first run warms caches


LOAD = """
import resource, sys, time
from pathlib import Path
from ecrlab.emulator.rootfs import OsInfo, Package
from ecrlab.vulndb import VulnDb
def rss_mib():
    return int(open("/proc/self/statm").read().split()[1]) * resource.getpagesize() / 2**20
packages = [Package(f"lib{i:04d}-bin", "1.0-1", f"lib{i:04d}", f"{i % 4}.{i % 11}-1+deb12u1", "amd64", "dpkg", "l")
            for i in range(300)]
before, start = rss_mib(), time.perf_counter()
db = VulnDb.indexed(Path(sys.argv[1]), Path(sys.argv[2]))
db.matches(OsInfo("debian", "12", "12", "Debian GNU/Linux 12"), packages)
print(time.perf_counter() - start, rss_mib() - before, db.advisory_count)
"""


def walk_us_per_file() -> tuple[list[float], list[float]]:
    """A 30,000-file layer: microseconds per file to walk it the first time, and to apply it from its summary."""
    from ecrlab.emulator import rootfs

    files = {f"usr/share/doc/pkg{i // 20}/file{i}": b"x" * 200 for i in range(30_000)}
    files["etc/os-release"] = b"ID=alpine\nVERSION_ID=3.19.1\n"
    layer = Layer.of(_layer(files))
    first, again = [], []
    for _ in range(5):
        start = time.perf_counter()
        rootfs._summarize(layer)
        first.append(time.perf_counter() - start)
        FsView([layer])
        start = time.perf_counter()
        FsView([layer])
        again.append(time.perf_counter() - start)
    return [t / len(files) * 1e6 for t in first], [t / len(files) * 1e6 for t in again]


def main() -> None:
    from ecrlab.emulator import scanner

    walk_first, walk_cached = walk_us_per_file()
    print(f"layer walk, 30,000 files: first read {statistics.median(walk_first):.2f} us/file (median of 5)")
    report("P4walk", "layer applied from its per-digest summary, us per file (30,000-file layer)", walk_cached, 2)
    with tempfile.TemporaryDirectory() as tmp:
        os.environ["ECRLAB_CACHE_DIR"] = tmp  # the emulator's feed index goes here, not into the user's cache
        feed_path = Path(tmp) / "all.zip"
        write_feed(feed_path)
        index = Path(tmp) / "index.sqlite"
        start = time.perf_counter()
        VulnDb.indexed(feed_path, index)
        build_s = time.perf_counter() - start
        loads = [
            subprocess.run(
                [sys.executable, "-c", LOAD, str(feed_path), str(index)], capture_output=True, text=True, check=True
            ).stdout.split()
            for _ in range(5)
        ]
        db = VulnDb.indexed(feed_path, index)
        size_mb = feed_path.stat().st_size / 1e6
        registry = ecrlab.connect()  # the embedded emulator serves from this process, so it can use the same feed
        scanner.use_feed(feed_path)
        print(
            f"feed: {db.advisory_count} advisories (all.zip {size_mb:.1f} MB); indexed once in {build_s:.1f} s "
            f"({index.stat().st_size / 2**20:.0f} MiB on disk)"
        )
        report(
            "FEEDload",
            "feed load from its index and a first 300-package lookup, s (fresh process)",
            [float(x[0]) for x in loads],
            1,
        )
        report(
            "FEEDmem",
            "memory the feed takes after that lookup, MiB per 100k advisories (fresh process)",
            [float(x[1]) * 100_000 / int(x[2]) for x in loads],
            60,
        )
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
            scans, baselines = samples_ms(scan, lambda layers=layers: FsView(layers))
            baseline = [wall for wall, _ in baselines]
            print(
                f"image {name}: {IMAGE_PACKAGES} packages, {len(layers)} layers, {FILLER_FILES} other files, "
                f"{findings} findings; baseline (merge the layers only) {statistics.median(baseline):.1f} ms"
            )
            what = f"warm scan of {name} ({IMAGE_PACKAGES} packages, 100k advisories)"
            report("P4", f"{what}, wall ms", [wall for wall, _ in scans], 50)
            report("P4cpu", f"{what}, CPU ms", [cpu for _, cpu in scans], 50)
            pure_ms, start_ms, read_ms = api_ms(registry, name, layers, scan)
            print(
                f"  through the API, a new image each run: StartImageScan and settling its scan {start_ms:.1f} ms vs "
                f"the pure scan {pure_ms:.1f} ms in the same turns (x{start_ms / pure_ms:.2f}); "
                f"DescribeImageScanFindings of all {findings}: {read_ms:.1f} ms"
            )


if __name__ == "__main__":
    main()
