"""The sample OCI layouts in data/images/: intact, reproducible, and carrying the promised packages."""

from __future__ import annotations

import base64
import gzip
import hashlib
import io
import json
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest

from ecrlab.oci_layout import OciLayout, OciLayoutError, blob_digests, manifests_for, read_blob, read_layout
from tests.sample_image_helpers import TAGS

IMAGES = Path(__file__).resolve().parents[1] / "data" / "images"
INDEX = "application/vnd.oci.image.index.v1+json"
MANIFEST = "application/vnd.oci.image.manifest.v1+json"
ALPINE_BASE = {
    "alpine-baselayout": ("3.4.3-r2", "alpine-baselayout"),
    "apk-tools": ("2.14.0-r5", "apk-tools"),
    "busybox": ("1.36.1-r15", "busybox"),
    "busybox-binsh": ("1.36.1-r15", "busybox"),
    "ca-certificates-bundle": ("20230506-r0", "ca-certificates"),
    "libcrypto3": ("3.1.4-r0", "openssl"),
    "libssl3": ("3.1.4-r0", "openssl"),
    "musl": ("1.2.4_git20230717-r4", "musl"),
    "zlib": ("1.3-r2", "zlib"),
}
ALPINE_PATCHED = {
    **ALPINE_BASE,
    "busybox": ("1.36.1-r19", "busybox"),
    "busybox-binsh": ("1.36.1-r19", "busybox"),
    "libcrypto3": ("3.1.7-r0", "openssl"),
    "libssl3": ("3.1.7-r0", "openssl"),
}
# Package -> (Version, Source field or None when the source package has the binary's name).
DEBIAN = {
    "base-files": ("12.4+deb12u4", None),
    "bash": ("5.2.15-2+b2", "bash (5.2.15-2)"),
    "coreutils": ("9.1-1", None),
    "libc6": ("2.36-9+deb12u3", "glibc"),
    "libgnutls30": ("3.7.9-2+deb12u1", "gnutls28"),
    "libssl3": ("3.0.11-1~deb12u2", "openssl"),
    "openssl": ("3.0.11-1~deb12u2", None),
    "tzdata": ("2024a-0+deb12u1", None),
    "zlib1g": ("1:1.2.13.dfsg-1", "zlib"),
}
DISTROLESS = {
    "base-files": ("12.4+deb12u4", None),
    "libssl3": ("3.0.11-1~deb12u2", "openssl"),
    "netbase": ("6.4", None),
    "tzdata": ("2024a-0+deb12u1", None),
}


def layout(name: str) -> OciLayout:
    return read_layout(IMAGES / name)


def layer_tars(name: str, platform: str | None = None) -> list[tarfile.TarFile]:
    """The uncompressed layer tars of the image `name` (of one platform, for an index)."""
    lay = layout(name)
    for desc, manifest in manifests_for(lay, TAGS[name]):
        if platform in (None, desc.get("platform", {}).get("architecture")):
            return [
                tarfile.open(fileobj=io.BytesIO(gzip.decompress(read_blob(lay, layer["digest"]))))
                for layer in manifest["layers"]
            ]
    raise AssertionError(f"{name} has no {platform} manifest")


def read_member(tar: tarfile.TarFile, path: str) -> str:
    member = tar.extractfile(path)
    assert member is not None, path
    return member.read().decode()


def stanzas(text: str) -> list[dict[str, str]]:
    """Blank-line separated `key: value` (dpkg) or `k:value` (apk) records; continuation lines dropped."""
    records = []
    for block in text.split("\n\n"):
        record: dict[str, str] = {}
        for line in block.splitlines():
            if line and not line.startswith(" ") and ":" in line:
                key, _, value = line.partition(":")
                record.setdefault(key, value.strip())
        if record:
            records.append(record)
    return records


def apk_packages(tar: tarfile.TarFile) -> dict[str, tuple[str, str, str]]:
    return {r["P"]: (r["V"], r["o"], r["A"]) for r in stanzas(read_member(tar, "lib/apk/db/installed"))}


def descriptors(doc: dict) -> list[dict]:
    children = [*doc.get("manifests", []), *doc.get("layers", [])]
    return children + ([doc["config"]] if "config" in doc else [])


@pytest.mark.parametrize("name", TAGS)
def test_every_blob_is_named_by_its_sha256(name: str) -> None:
    blobs = list((IMAGES / name / "blobs" / "sha256").iterdir())
    assert blobs
    for blob in blobs:
        assert hashlib.sha256(blob.read_bytes()).hexdigest() == blob.name


@pytest.mark.parametrize("name", TAGS)
def test_every_descriptor_resolves_to_a_blob_of_its_size(name: str) -> None:
    lay = layout(name)
    assert lay.refs.keys() == {TAGS[name]}
    pending = list(lay.index["manifests"])
    seen = set()
    while pending:
        desc = pending.pop()
        data = read_blob(lay, desc["digest"])
        assert len(data) == desc["size"], desc
        seen.add(desc["digest"])
        if desc["mediaType"] in {INDEX, MANIFEST}:
            pending += descriptors(json.loads(data))
    assert seen == set(blob_digests(lay, TAGS[name]))
    on_disk = {"sha256:" + p.name for p in (IMAGES / name / "blobs" / "sha256").iterdir()}
    assert on_disk == seen, "every blob in the layout is reachable from its tag"


@pytest.mark.parametrize("name", TAGS)
def test_layers_match_config_diff_ids_and_history(name: str) -> None:
    lay = layout(name)
    for _, manifest in manifests_for(lay, TAGS[name]):
        assert manifest["mediaType"] == MANIFEST
        config = json.loads(read_blob(lay, manifest["config"]["digest"]))
        assert config["os"] == "linux" and config["architecture"] in {"amd64", "arm64"}
        assert config["config"]["Env"][0].startswith("PATH=")
        assert all(layer["mediaType"] == "application/vnd.oci.image.layer.v1.tar+gzip" for layer in manifest["layers"])
        diff_ids = [
            "sha256:" + hashlib.sha256(gzip.decompress(read_blob(lay, layer["digest"]))).hexdigest()
            for layer in manifest["layers"]
        ]
        assert config["rootfs"] == {"type": "layers", "diff_ids": diff_ids}
        assert len([h for h in config["history"] if not h.get("empty_layer")]) == len(diff_ids)


def test_blob_digests_lists_children_before_parents() -> None:
    lay = layout("alpine-multiarch")
    order = blob_digests(lay, "3.19")
    assert order[-1] == lay.refs["3.19"]["digest"]
    for desc, manifest in manifests_for(lay, "3.19"):
        position = order.index(desc["digest"])
        assert all(order.index(child["digest"]) < position for child in descriptors(manifest))


def test_a_corrupt_blob_is_refused(tmp_path: Path) -> None:
    lay = read_layout(IMAGES / "scratch-binary")
    digest = lay.refs["latest"]["digest"]
    broken = OciLayout(path=tmp_path, index=lay.index, refs=lay.refs)
    (tmp_path / "blobs" / "sha256").mkdir(parents=True)
    (tmp_path / "blobs" / "sha256" / digest.removeprefix("sha256:")).write_bytes(b"{}")
    with pytest.raises(OciLayoutError, match="corrupt"):
        read_blob(broken, digest)
    with pytest.raises(OciLayoutError, match="no tag 'v2'"):
        manifests_for(lay, "v2")


def test_rebuilding_is_byte_identical(tmp_path: Path) -> None:
    subprocess.run([sys.executable, str(IMAGES / "build.py"), str(tmp_path)], check=True, capture_output=True)
    for name in TAGS:
        committed = IMAGES / name
        rebuilt = tmp_path / name
        assert (rebuilt / "index.json").read_bytes() == (committed / "index.json").read_bytes(), name
        assert sorted(p.name for p in (rebuilt / "blobs" / "sha256").iterdir()) == sorted(
            p.name for p in (committed / "blobs" / "sha256").iterdir()
        ), name


def test_samples_stay_small() -> None:
    total = sum(p.stat().st_size for p in IMAGES.rglob("*") if p.is_file())
    assert total < 1_000_000


@pytest.mark.parametrize(("name", "expected"), [("alpine-node", ALPINE_BASE), ("alpine-node-fixed", ALPINE_PATCHED)])
def test_alpine_node_apk_database(name: str, expected: dict[str, tuple[str, str]]) -> None:
    base, app = layer_tars(name)
    assert apk_packages(base) == {pkg: (*version_origin, "x86_64") for pkg, version_origin in expected.items()}
    os_release = read_member(base, "etc/os-release")
    assert "ID=alpine\n" in os_release and "VERSION_ID=3.19.1\n" in os_release
    assert 'PRETTY_NAME="Alpine Linux v3.19"' in os_release
    assert read_member(base, "etc/alpine-release") == "3.19.1\n"
    # The app layer adds node and deletes the base layer's /etc/motd, and leaves the apk db alone.
    assert "etc/motd" in base.getnames()
    assert {"etc/.wh.motd", "usr/local/bin/node"} <= set(app.getnames())
    assert not any(n.startswith("lib/apk") for n in app.getnames())


def test_alpine_node_app_is_built_on_the_alpine_node_blobs_and_adds_node_modules() -> None:
    ((_, node),) = manifests_for(layout("alpine-node"), "18-alpine")
    ((_, app),) = manifests_for(layout("alpine-node-app"), "18-alpine-app")
    assert app["layers"][:2] == node["layers"], "FROM node:18-alpine: the same two layer blobs"
    assert len(app["layers"]) == 4
    *_, source, modules = layer_tars("alpine-node-app")
    assert {"app/package.json", "app/server.js"} <= set(source.getnames())
    manifests = [json.loads(read_member(modules, n)) for n in modules.getnames() if n.endswith("/package.json")]
    assert {m["name"]: m["version"] for m in manifests} == {"semver": "7.5.1", "lru-cache": "6.0.0", "yallist": "4.0.0"}
    assert all(n.startswith("app/node_modules") for n in modules.getnames() if n != "app")
    config = json.loads(read_blob(layout("alpine-node-app"), app["config"]["digest"]))
    assert config["config"]["WorkingDir"] == "/app" and config["config"]["Cmd"] == ["node", "server.js"]


def test_apk_file_checksums_match_the_layer() -> None:
    base, _ = layer_tars("alpine-node")
    for record in read_member(base, "lib/apk/db/installed").split("\n\n"):
        directory = None
        lines = record.splitlines()
        for i, line in enumerate(lines):
            if line.startswith("F:"):
                directory = line[2:]
            elif line.startswith("R:"):
                member = base.getmember(f"{directory}/{line[2:]}")
                data = member.linkname.encode() if member.issym() else base.extractfile(member).read()
                checksum = next(x for x in lines[i + 1 :] if x.startswith("Z:"))
                expected = "Z:Q1" + base64.b64encode(hashlib.sha1(data).digest()).decode()
                assert checksum == expected, member.name


def test_debian_app_dpkg_status_and_whiteouts() -> None:
    base, app = layer_tars("debian-app")
    status = {r["Package"]: r for r in stanzas(read_member(base, "var/lib/dpkg/status"))}
    assert {pkg: (r["Version"], r.get("Source")) for pkg, r in status.items()} == DEBIAN
    assert all(r["Status"] == "install ok installed" for r in status.values())
    assert list(status) == sorted(status), "dpkg keeps the status file sorted by package name"
    os_release = read_member(base, "etc/os-release")
    assert 'PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"' in os_release
    assert 'VERSION_ID="12"' in os_release and "VERSION_CODENAME=bookworm" in os_release
    assert read_member(base, "etc/debian_version") == "12.4\n"
    assert "var/lib/dpkg/info/libc6:amd64.list" in base.getnames()
    assert {"etc/motd", "usr/share/doc/bash/copyright"} <= set(base.getnames())
    names = app.getnames()
    assert {"etc/.wh.motd", "usr/share/doc/.wh..wh..opq", "usr/share/doc/app/README"} <= set(names)
    assert names.index("usr/share/doc/.wh..wh..opq") < names.index("usr/share/doc/app")


def test_distroless_uses_status_d_only() -> None:
    (root,) = layer_tars("distroless-static")
    names = root.getnames()
    assert "var/lib/dpkg/status" not in names
    entries = {
        path.rsplit("/", 1)[1]: stanzas(read_member(root, path))
        for path in names
        if path.startswith("var/lib/dpkg/status.d/")
    }
    assert all(len(records) == 1 for records in entries.values())
    assert {pkg: (r[0]["Version"], r[0].get("Source")) for pkg, r in entries.items()} == DISTROLESS
    os_release = read_member(root, "etc/os-release")
    assert 'PRETTY_NAME="Distroless"' in os_release and 'ID="debian"' in os_release
    assert 'VERSION_ID="12"' in os_release


def test_scratch_binary_has_no_os_identity() -> None:
    (root,) = layer_tars("scratch-binary")
    assert root.getnames() == ["app"]


def test_multiarch_index_has_amd64_and_arm64() -> None:
    lay = layout("alpine-multiarch")
    assert lay.refs["3.19"]["mediaType"] == INDEX
    platforms = [desc["platform"] for desc, _ in manifests_for(lay, "3.19")]
    assert [(p["os"], p["architecture"]) for p in platforms] == [("linux", "amd64"), ("linux", "arm64")]
    for platform, arch in (("amd64", "x86_64"), ("arm64", "aarch64")):
        (base,) = layer_tars("alpine-multiarch", platform)
        assert apk_packages(base) == {pkg: (*version_origin, arch) for pkg, version_origin in ALPINE_BASE.items()}
        assert f"lib/ld-musl-{arch}.so.1" in base.getnames()
