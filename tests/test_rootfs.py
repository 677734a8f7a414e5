"""Merged layer view (OCI whiteouts), OS detection and apk/dpkg package databases, on layers built in-test."""

from __future__ import annotations

import hashlib

import pytest

from ecrlab.emulator.rootfs import FsView, Layer, OsInfo, detect_os, installed_packages
from ecrlab.errors import ValidationError
from tests.oci import layer

ALPINE_RELEASE = b'NAME="Alpine Linux"\nID=alpine\nVERSION_ID=3.19.1\nPRETTY_NAME="Alpine Linux v3.19"\n'
DEBIAN_RELEASE = b'PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\nNAME="Debian GNU/Linux"\nVERSION_ID="12"\nID=debian\n'


def apk_db(*records: tuple[str, str, str]) -> bytes:
    """(name, version, origin) records as apk writes them, with fields the parser must skip."""
    return "".join(f"C:Q1abc=\nP:{n}\nV:{v}\nA:x86_64\nS:100\no:{o}\nm:Someone\n\n" for n, v, o in records).encode()


# --- merged view -------------------------------------------------------------------------------------------


def test_later_layers_override_and_whiteouts_delete_files_and_directories() -> None:
    base = layer(
        {
            "etc/os-release": ALPINE_RELEASE,
            "var/lib/dpkg/status": b"Package: a\n",
            "var/lib/dpkg/status.d/x": b"Package: x\n",
            "var/lib/dpkg/status.d/y": b"Package: y\n",
        }
    )
    top = layer({"var/lib/dpkg/.wh.status": b"", "var/lib/dpkg/status.d/.wh.x": b"", "etc/os-release": DEBIAN_RELEASE})
    view = FsView([base, top])
    assert view.read("etc/os-release") == DEBIAN_RELEASE
    assert view.read("var/lib/dpkg/status") is None
    assert view.listdir("var/lib/dpkg/status.d") == ["y"]
    # Whiting out a directory removes everything under it.
    view = FsView([base, layer({"var/lib/dpkg/.wh.status.d": b""})])
    assert view.listdir("var/lib/dpkg") == ["status"]
    assert view.read("var/lib/dpkg/status.d/y") is None


def test_opaque_directory_hides_lower_layers_but_keeps_its_own_entries() -> None:
    base = layer({"var/lib/dpkg/status.d/old": b"Package: old\n"})
    # The opaque marker may come after the layer's own entries in the tar stream.
    top = layer({"var/lib/dpkg/status.d/new": b"Package: new\n", "var/lib/dpkg/status.d/.wh..wh..opq": b""})
    view = FsView([base, top])
    assert view.listdir("var/lib/dpkg/status.d") == ["new"]
    assert view.read("var/lib/dpkg/status.d/new") == b"Package: new\n"


def test_a_deleted_file_recreated_later_has_no_older_history() -> None:
    view = FsView(
        [
            layer({"lib/apk/db/installed": b"one"}),
            layer({"lib/apk/db/.wh.installed": b""}),
            layer({"lib/apk/db/installed": b"three"}),
        ]
    )
    assert [data for _, data in view.history("lib/apk/db/installed")] == [b"three"]
    assert view.history("lib/apk/db/installed")[0][0] == view.layers[2]


def test_symlinks_are_followed_like_debians_etc_os_release() -> None:
    view = FsView(
        [
            layer(
                {
                    "usr/lib/os-release": DEBIAN_RELEASE,
                    "etc/os-release": "-> ../usr/lib/os-release",
                    "lib": "-> usr/lib",
                    "loop": "-> loop",
                }
            )
        ]
    )
    assert view.read("etc/os-release") == DEBIAN_RELEASE
    assert view.read("/lib/os-release") == DEBIAN_RELEASE
    assert view.read("loop") is None


def test_layers_may_be_plain_tar_gzip_or_files_and_carry_their_digest(tmp_path) -> None:
    plain = layer({"etc/os-release": ALPINE_RELEASE}, compress=False)
    path = tmp_path / "layer.tar.gz"
    path.write_bytes(layer({"etc/os-release": DEBIAN_RELEASE}))
    view = FsView([plain, str(path)])
    assert view.layers == (
        f"sha256:{hashlib.sha256(plain).hexdigest()}",
        f"sha256:{hashlib.sha256(path.read_bytes()).hexdigest()}",
    )
    assert view.read("etc/os-release") == DEBIAN_RELEASE
    named = FsView([Layer("sha256:" + "a" * 64, plain)])
    assert named.layers == ("sha256:" + "a" * 64,)


def test_member_names_are_normalised_and_cannot_climb_above_the_root() -> None:
    view = FsView([layer({"./": None, "../../etc//os-release": ALPINE_RELEASE, "./usr/./lib/": None})])
    assert view.read("/etc/os-release") == ALPINE_RELEASE
    assert view.listdir("/") == ["etc", "usr"]
    assert view.listdir("usr") == ["lib"]


def test_only_files_the_scanner_reads_are_kept_in_memory() -> None:
    view = FsView([layer({"usr/bin/big": b"x" * 1000, "etc/os-release": ALPINE_RELEASE})])
    assert view.listdir("usr/bin") == ["big"]
    assert view.read("usr/bin/big") is None


def test_a_blob_that_is_not_a_tar_is_a_validation_error() -> None:
    with pytest.raises(ValidationError) as err:
        FsView([Layer("sha256:bad", b"not a tarball at all")])
    assert err.value.field == "layer"
    assert err.value.value == "sha256:bad"


# --- os detection ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("files", "expected"),
    [
        ({"etc/os-release": ALPINE_RELEASE}, OsInfo("alpine", "3.19.1", "3.19", "Alpine Linux v3.19")),
        (
            {"usr/lib/os-release": DEBIAN_RELEASE},
            OsInfo("debian", "12", "12", "Debian GNU/Linux 12 (bookworm)"),
        ),
        ({"etc/os-release": b'ID="ubuntu"\nVERSION_ID="22.04"\n'}, None),
        ({"etc/os-release": b"ID=debian\nPRETTY_NAME='Debian GNU/Linux trixie/sid'\n"}, None),
        ({"bin/sh": b""}, None),
    ],
)
def test_detect_os(files: dict[str, bytes], expected: OsInfo | None) -> None:
    assert detect_os(FsView([layer(files)])) == expected


def test_ecosystem_names_follow_osv() -> None:
    assert OsInfo("alpine", "3.19.1", "3.19", "").ecosystem == "Alpine:v3.19"
    assert OsInfo("debian", "12", "12", "").ecosystem == "Debian:12"


# --- apk ---------------------------------------------------------------------------------------------------


def test_apk_packages_carry_origin_and_the_layer_that_introduced_them() -> None:
    first = layer(
        {
            "etc/os-release": ALPINE_RELEASE,
            "lib/apk/db/installed": apk_db(
                ("musl", "1.2.4_git20230717-r4", "musl"), ("busybox", "1.36.1-r15", "busybox")
            ),
        }
    )
    second = layer(
        {
            "lib/apk/db/installed": apk_db(
                ("musl", "1.2.4_git20230717-r4", "musl"),
                ("busybox", "1.36.1-r19", "busybox"),
                ("busybox-binsh", "1.36.1-r19", "busybox"),
                ("libssl3", "3.1.4-r0", "openssl"),
            )
        }
    )
    view = FsView([first, second])
    os_info = detect_os(view)
    assert os_info is not None
    packages = {p.name: p for p in installed_packages(view, os_info)}
    assert sorted(packages) == ["busybox", "busybox-binsh", "libssl3", "musl"]
    assert packages["musl"].layer == view.layers[0]  # unchanged since the base layer
    assert packages["busybox"].layer == view.layers[1]  # upgraded in the second layer
    libssl = packages["libssl3"]
    assert (libssl.source_name, libssl.source_version, libssl.arch, libssl.manager) == (
        "openssl",
        "3.1.4-r0",
        "x86_64",
        "apk",
    )
    assert packages["busybox-binsh"].source_name == "busybox"


def test_apk_record_without_origin_is_its_own_origin() -> None:
    view = FsView([layer({"etc/os-release": ALPINE_RELEASE, "lib/apk/db/installed": b"P:zlib\nV:1.3-r2\n"})])
    (package,) = installed_packages(view, detect_os(view))  # type: ignore[arg-type]
    assert (package.name, package.source_name, package.version) == ("zlib", "zlib", "1.3-r2")


# --- dpkg --------------------------------------------------------------------------------------------------

DPKG_STATUS = b"""Package: libc6
Status: install ok installed
Architecture: amd64
Source: glibc
Version: 2.36-9+deb12u3
Description: GNU C Library: Shared libraries
 Contains the standard libraries.
 .
 Package: not-a-real-field

Package: bash
Status: install ok installed
Architecture: amd64
Source: bash (5.2.15-2)
Version: 5.2.15-2+b2

Package: zlib1g
Status: hold ok installed
Architecture: amd64
Source: zlib
Version: 1:1.2.13.dfsg-1

Package: removed
Status: deinstall ok config-files
Architecture: amd64
Version: 1.0-1

Package: half
Status: install reinstreq half-installed
Version: 1.0-1
"""


def test_dpkg_status_keeps_installed_packages_with_source_names_and_epochs() -> None:
    view = FsView([layer({"etc/os-release": DEBIAN_RELEASE, "var/lib/dpkg/status": DPKG_STATUS})])
    packages = {p.name: p for p in installed_packages(view, detect_os(view))}  # type: ignore[arg-type]
    assert sorted(packages) == ["bash", "libc6", "zlib1g"]
    assert (packages["libc6"].source_name, packages["libc6"].source_version) == ("glibc", "2.36-9+deb12u3")
    bash = packages["bash"]
    assert (bash.version, bash.source_name, bash.source_version) == ("5.2.15-2+b2", "bash", "5.2.15-2")
    assert packages["zlib1g"].version == "1:1.2.13.dfsg-1"
    assert packages["zlib1g"].source_version == "1:1.2.13.dfsg-1"
    assert {p.manager for p in packages.values()} == {"dpkg"}


def test_distroless_status_d_stanzas_are_packages_and_md5sums_are_skipped() -> None:
    files = {
        "etc/os-release": DEBIAN_RELEASE,
        "var/lib/dpkg/status.d/libssl3": b"Package: libssl3\nVersion: 3.0.11-1~deb12u2\nArchitecture: amd64\n"
        b"Source: openssl\n",
        "var/lib/dpkg/status.d/libssl3.md5sums": b"d41d8cd98f00b204e9800998ecf8427e  usr/lib/libssl.so.3\n",
        "var/lib/dpkg/status.d/netbase": b"Package: netbase\nVersion: 6.4\nArchitecture: all\n",
        "var/lib/dpkg/status.d/gone": b"Package: gone\nStatus: deinstall ok config-files\nVersion: 1\n",
    }
    view = FsView([layer(files)])
    packages = installed_packages(view, detect_os(view))  # type: ignore[arg-type]
    assert [(p.name, p.source_name, p.version) for p in packages] == [
        ("libssl3", "openssl", "3.0.11-1~deb12u2"),
        ("netbase", "netbase", "6.4"),
    ]
    assert all(p.layer == view.layers[0] for p in packages)


def test_a_layer_shared_by_images_is_read_once(monkeypatch) -> None:
    """Layers are content-addressed: a base layer under many images is walked once, whatever their number."""
    import os

    from ecrlab.emulator import rootfs

    walks: list[int] = []
    real = rootfs._tar_members

    def counted(stream):
        walks.append(1)
        return real(stream)

    monkeypatch.setattr(rootfs, "_tar_members", counted)
    nonce = os.urandom(8).hex().encode()  # digests no other test has had summarised
    base = layer({"etc/os-release": ALPINE_RELEASE, "usr/share/doc/readme": nonce})
    tops = [layer({"lib/apk/db/installed": apk_db(("musl", f"1.2.{n}-r0", "musl")), "tmp/n": nonce}) for n in range(3)]
    views = [FsView([base, top]) for top in tops]
    assert len(walks) == 1 + len(tops)
    assert [detect_os(v) for v in views] == [detect_os(views[0])] * 3
    assert [installed_packages(v, detect_os(v))[0].version for v in views] == ["1.2.0-r0", "1.2.1-r0", "1.2.2-r0"]


def test_entries_apply_in_tar_order_even_among_unread_files() -> None:
    """A file that lands on a directory replaces it, and a later entry under that path makes a directory again."""
    view = FsView([layer({"p/q/f1": b"x", "p": b"a file now", "p/q/f2": b"y", "etc/os-release": ALPINE_RELEASE})])
    assert view.listdir("p") == ["q"] and view.listdir("p/q") == ["f2"]
    view = FsView([layer({"d/f": b"x", "d/g": b"x"}), layer({"d": b"a file", "e/f": b"x"})])
    assert view.listdir("d") == [] and view.listdir("") == ["d", "e"]
