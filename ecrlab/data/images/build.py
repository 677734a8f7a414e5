"""Generate the sample OCI image layouts in data/images/, byte for byte the same on every run.

Why a generator instead of pulled images: real node/debian images weigh tens of megabytes and their
digests move every week. These layouts are small enough to commit, carry real package databases
(apk installed-db, dpkg status, distroless status.d) at the pinned versions the vulnerability feed is
written against, and rebuild identically: fixed mtimes, uids and member order, gzip with mtime=0 and
no file name. Binaries are short text stubs; package databases and os-release files are in the
real formats.

    python data/images/build.py [OUT_DIR]      # default OUT_DIR: the directory holding this file
"""

from __future__ import annotations

import argparse
import base64
import gzip
import hashlib
import io
import json
import posixpath
import shutil
import tarfile
import textwrap
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

LAYER = "application/vnd.oci.image.layer.v1.tar+gzip"
CONFIG = "application/vnd.oci.image.config.v1+json"
MANIFEST = "application/vnd.oci.image.manifest.v1+json"
INDEX = "application/vnd.oci.image.index.v1+json"
REF_NAME = "org.opencontainers.image.ref.name"
PATH_ENV = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


# ---------------------------------------------------------------------------------------------
# Layer members and deterministic tar/gzip
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Entry:
    """One tar member; `data` is the file content, or the link target of a symlink."""

    path: str
    kind: str = "file"  # file | dir | symlink
    data: bytes = b""
    mode: int = 0o644
    uid: int = 0
    gid: int = 0


def file(path: str, data: str | bytes, mode: int = 0o644, uid: int = 0, gid: int = 0) -> Entry:
    return Entry(path, "file", data.encode() if isinstance(data, str) else data, mode, uid, gid)


def directory(path: str, mode: int = 0o755, uid: int = 0, gid: int = 0) -> Entry:
    return Entry(path, "dir", b"", mode, uid, gid)


def symlink(path: str, target: str) -> Entry:
    return Entry(path, "symlink", target.encode(), 0o777)


def stub(path: str, what: str, mode: int = 0o755) -> Entry:
    """A few bytes standing in for a binary, so layers stay tiny but files still exist."""
    return file(path, f"#!/bin/false\n# ecrlab sample stub for {what}: /{path}\n", mode)


def whiteout(path: str) -> Entry:
    """OCI whiteout: an empty `.wh.<name>` beside the deleted path hides it from lower layers."""
    parent, name = posixpath.split(path)
    return Entry(posixpath.join(parent, ".wh." + name), "file", b"", 0)


def opaque(dir_path: str) -> Entry:
    """OCI opaque whiteout: hides everything lower layers put in `dir_path`; this layer's own entries stay."""
    return Entry(dir_path + "/.wh..wh..opq", "file", b"", 0)


def _member_order(path: str) -> tuple[tuple[int, str], ...]:
    # Parents before children; within a directory whiteouts first, as the image spec asks of producers.
    return tuple((0 if part.startswith(".wh.") else 1, part) for part in path.split("/"))


def layer_tar(entries: Iterable[Entry], mtime: int) -> bytes:
    """An uncompressed layer tar: missing parent directories added, members in a fixed order."""
    members: dict[str, Entry] = {}
    for entry in entries:
        if members.setdefault(entry.path, entry) != entry:
            raise ValueError(f"two different entries for {entry.path}: {members[entry.path]} and {entry}")
    for path in list(members):
        parent = posixpath.dirname(path)
        while parent and parent not in members:
            members[parent] = directory(parent)
            parent = posixpath.dirname(parent)
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.USTAR_FORMAT) as tar:
        for path in sorted(members, key=_member_order):
            entry = members[path]
            info = tarfile.TarInfo(path)
            info.mtime, info.mode, info.uid, info.gid = mtime, entry.mode, entry.uid, entry.gid
            info.uname = info.gname = "root" if entry.uid == 0 else ""
            if entry.kind == "dir":
                info.type = tarfile.DIRTYPE
                tar.addfile(info)
            elif entry.kind == "symlink":
                info.type, info.linkname = tarfile.SYMTYPE, entry.data.decode()
                tar.addfile(info)
            else:
                info.size = len(entry.data)
                tar.addfile(info, io.BytesIO(entry.data))
    return buf.getvalue()


def gzip_bytes(raw: bytes) -> bytes:
    out = io.BytesIO()
    with gzip.GzipFile(filename="", mode="wb", fileobj=out, compresslevel=9, mtime=0) as gz:
        gz.write(raw)
    return out.getvalue()


def json_bytes(obj: object) -> bytes:
    return json.dumps(obj, separators=(",", ":")).encode()


def epoch(timestamp: str) -> int:
    return int(datetime.fromisoformat(timestamp.replace("Z", "+00:00")).timestamp())


# ---------------------------------------------------------------------------------------------
# Alpine: packages and the apk installed database (lib/apk/db/installed)
# ---------------------------------------------------------------------------------------------

# apk-tools 2.x writes a package's fields in this order; C, A and c are filled in by apk_record.
APK_FIELD_ORDER = "CPVASITULomtckDpr"


@dataclass(frozen=True)
class ApkPackage:
    fields: dict[str, str]  # single-letter apk keys: P name, V version, o origin, ...
    files: tuple[Entry, ...]


def apk_package(header: str, *files: Entry) -> ApkPackage:
    """A package from `X:value` header lines (indentation ignored) and the files it installs."""
    lines = (line.strip() for line in header.splitlines())
    return ApkPackage(dict(line.split(":", 1) for line in lines if line), files)


def apk_checksum(data: bytes) -> str:
    """apk's "Q1" checksum: base64 of a SHA-1 (of file content, or of a symlink's target)."""
    return "Q1" + base64.b64encode(hashlib.sha1(data).digest()).decode()


def apk_record(pkg: ApkPackage, arch: str) -> str:
    """One package stanza as apk-tools 2.x writes it, file list included (F:/M: dirs, R:/a:/Z: files)."""
    name, version, origin = pkg.fields["P"], pkg.fields["V"], pkg.fields["o"]
    fields = {
        **pkg.fields,
        # C: (control checksum) and c: (aports commit) are derived here, not Alpine's real values.
        "C": apk_checksum(f"{name}-{version}.{arch}".encode()),
        "A": arch,
        "c": hashlib.sha1(f"{origin}-{version}".encode()).hexdigest(),
    }
    if unknown := set(fields) - set(APK_FIELD_ORDER):
        raise ValueError(f"{name}: apk fields {sorted(unknown)} have no place in the field order")
    lines = [f"{key}:{fields[key]}" for key in APK_FIELD_ORDER if key in fields]
    dirs = {e.path: e for e in pkg.files if e.kind == "dir"}
    for entry in pkg.files:
        parent = posixpath.dirname(entry.path)
        while parent:
            dirs.setdefault(parent, directory(parent))
            parent = posixpath.dirname(parent)
    for dir_path in sorted(dirs, key=_member_order):
        lines.append(f"F:{dir_path}")
        acl = dirs[dir_path]
        if (acl.uid, acl.gid, acl.mode) != (0, 0, 0o755):
            lines.append(f"M:{acl.uid}:{acl.gid}:{acl.mode:o}")
        children = [e for e in pkg.files if e.kind != "dir" and posixpath.dirname(e.path) == dir_path]
        for entry in sorted(children, key=lambda e: e.path):
            lines.append(f"R:{posixpath.basename(entry.path)}")
            if (entry.uid, entry.gid, entry.mode) != (0, 0, 0o644):
                lines.append(f"a:{entry.uid}:{entry.gid}:{entry.mode:o}")
            lines.append(f"Z:{apk_checksum(entry.data)}")
    return "\n".join(lines) + "\n"


ALPINE_RELEASE = "3.19.1"
ALPINE_OS_RELEASE = """\
NAME="Alpine Linux"
ID=alpine
VERSION_ID=3.19.1
PRETTY_NAME="Alpine Linux v3.19"
HOME_URL="https://alpinelinux.org/"
BUG_REPORT_URL="https://gitlab.alpinelinux.org/alpine/aports/-/issues"
"""
ALPINE_MOTD = """\
Welcome to Alpine!

The Alpine Wiki contains a large amount of how-to guides and general
information about administrating Alpine systems.
See <https://wiki.alpinelinux.org/>.

You can setup the system with the command: setup-alpine

You may change this message by editing /etc/motd.

"""
ALPINE_CRONTAB = """\
# do daily/weekly/monthly maintenance
# min	hour	day	month	weekday	command
*/15	*	*	*	*	run-parts /etc/periodic/15min
0	*	*	*	*	run-parts /etc/periodic/hourly
0	2	*	*	*	run-parts /etc/periodic/daily
0	3	*	*	6	run-parts /etc/periodic/weekly
0	5	1	*	*	run-parts /etc/periodic/monthly

"""
ALPINE_PASSWD = """\
root:x:0:0:root:/root:/bin/sh
bin:x:1:1:bin:/bin:/sbin/nologin
daemon:x:2:2:daemon:/sbin:/sbin/nologin
nobody:x:65534:65534:nobody:/:/sbin/nologin
"""
ALPINE_GROUP = """\
root:x:0:root
bin:x:1:root,bin,daemon
daemon:x:2:root,bin,daemon
nogroup:x:65533:
nobody:x:65534:
"""
BASELAYOUT_DIRS = """
    dev dev/pts dev/shm etc/apk etc/conf.d etc/init.d etc/modprobe.d etc/modules-load.d etc/network etc/opt
    etc/periodic/15min etc/periodic/daily etc/periodic/hourly etc/periodic/monthly etc/periodic/weekly
    etc/sysctl.d home lib/firmware lib/modules-load.d media/cdrom media/floppy media/usb mnt opt proc run sbin
    srv sys usr/local/bin usr/local/lib usr/local/share usr/sbin usr/share/man usr/share/misc var/cache
    var/lib/misc var/local var/lock/subsys var/log var/mail var/opt
""".split()  # noqa: SIM905 -- a word list reads best as text
CA_BUNDLE_STUB = "# ecrlab sample stub: the real bundle holds ~140 Mozilla root certificates\n"


@dataclass(frozen=True)
class AlpineVersions:
    """The versions that differ between the vulnerable and the patched Alpine images."""

    busybox: str = "1.36.1-r15"
    busybox_built: int = 1700593342
    openssl: str = "3.1.4-r0"
    openssl_built: int = 1698260702


VULNERABLE = AlpineVersions()
# apk upgrades busybox-binsh with busybox: it depends on busybox at exactly its own version.
PATCHED = AlpineVersions(busybox="1.36.1-r19", busybox_built=1716300842, openssl="3.1.7-r0", openssl_built=1725453014)


def alpine_packages(arch: str, v: AlpineVersions) -> list[ApkPackage]:
    """The Alpine 3.19 base set, for `arch` (x86_64 or aarch64)."""
    libc = f"so:libc.musl-{arch}.so.1"
    ncopa, ariadne = "Natanael Copa <ncopa@alpinelinux.org>", "Ariadne Conill <ariadne@dereferenced.org>"
    soeren = "Sören Tempel <soeren+alpine@soeren-tempel.net>"
    apk_libs = "so:libcrypto.so.3 so:libssl.so.3 so:libz.so.1"
    return [
        apk_package(
            f"""
            P:alpine-baselayout
            V:3.4.3-r2
            S:8960
            I:331776
            T:Alpine base dir structure and init scripts
            U:https://git.alpinelinux.org/cgit/aports/tree/main/alpine-baselayout
            L:GPL-2.0-only
            o:alpine-baselayout
            m:{ncopa}
            t:1699452134
            D:/bin/sh
            """,
            *(directory(d) for d in BASELAYOUT_DIRS),
            directory("root", 0o700),
            directory("tmp", 0o1777),
            directory("var/empty", 0o555),
            directory("var/tmp", 0o1777),
            file("etc/motd", ALPINE_MOTD),
            file("etc/crontabs/root", ALPINE_CRONTAB, 0o600),
            file("etc/modprobe.d/aliases.conf", "# Aliases to tell insmod/modprobe which modules to use\n"),
            file("etc/modprobe.d/blacklist.conf", "# Listing a module here prevents modprobe from loading it\n"),
            file(
                "etc/profile.d/20locale.sh",
                "# set default locale\nexport CHARSET=${CHARSET:-UTF-8}\n"
                "export LANG=${LANG:-C.UTF-8}\nexport LC_COLLATE=${LC_COLLATE:-C}\n",
            ),
            file("etc/profile.d/README", "Shell scripts in /etc/profile.d are sourced by /etc/profile.\n"),
            file(
                "etc/profile.d/color_prompt.sh.disabled",
                "# Setup a red prompt for root and a green one for users.\n",
            ),
            file("lib/sysctl.d/00-alpine.conf", "net.ipv4.tcp_syncookies = 1\nkernel.panic = 120\n"),
            symlink("var/run", "/run"),
            symlink("var/spool/mail", "/var/mail"),
            symlink("var/spool/cron/crontabs", "/etc/crontabs"),
        ),
        apk_package(
            f"""
            P:apk-tools
            V:2.14.0-r5
            S:120973
            I:303104
            T:Alpine Package Keeper - package manager for alpine
            U:https://gitlab.alpinelinux.org/alpine/apk-tools
            L:GPL-2.0-only
            o:apk-tools
            m:{ncopa}
            t:1699452134
            D:musl>=1.2.3_git20230424 ca-certificates-bundle {libc} {apk_libs}
            p:so:libapk.so.2.14.0=2.14.0 cmd:apk=2.14.0-r5
            """,
            directory("etc/apk/keys"),
            directory("etc/apk/protected_paths.d"),
            stub("lib/libapk.so.2.14.0", f"apk-tools 2.14.0-r5 ({arch})"),
            stub("sbin/apk", f"apk-tools 2.14.0-r5 ({arch})"),
            directory("var/cache/misc"),
            directory("var/lib/apk"),
        ),
        apk_package(
            f"""
            P:busybox
            V:{v.busybox}
            S:515246
            I:924920
            T:Size optimized toolbox of many common UNIX utilities
            U:https://busybox.net/
            L:GPL-2.0-only
            o:busybox
            m:{soeren}
            t:{v.busybox_built}
            D:{libc}
            p:cmd:busybox={v.busybox}
            r:busybox-initscripts
            """,
            stub("bin/busybox", f"busybox {v.busybox} ({arch})"),
            file("etc/securetty", "console\ntty1\ntty2\ntty3\ntty4\ntty5\ntty6\n"),
            file("etc/udhcpd.conf", "# Sample udhcpd configuration file (/etc/udhcpd.conf)\n"),
            file("etc/logrotate.d/acpid", "/var/log/acpid.log {\n\tmissingok\n\tnotifempty\n}\n"),
            file("usr/share/udhcpc/default.script", "#!/bin/sh\n# udhcpc script edited by Tim Riker\n", 0o755),
        ),
        apk_package(
            f"""
            P:busybox-binsh
            V:{v.busybox}
            S:1543
            I:1
            T:busybox ash /bin/sh
            U:https://busybox.net/
            L:GPL-2.0-only
            o:busybox
            m:{soeren}
            t:{v.busybox_built}
            k:100
            D:busybox={v.busybox}
            p:/bin/sh cmd:sh={v.busybox}
            r:busybox
            """,
            symlink("bin/sh", "/bin/busybox"),
        ),
        apk_package(
            f"""
            P:ca-certificates-bundle
            V:20230506-r0
            S:126286
            I:229376
            T:Pre generated bundle of Mozilla certificates
            U:https://www.mozilla.org/en-US/about/governance/policies/security-group/certs/
            L:MPL-2.0 AND MIT
            o:ca-certificates
            m:{ncopa}
            t:1683451282
            p:ca-certificates-cacert=20230506-r0
            r:libressl2.7-libcrypto libcrypto1.1
            """,
            symlink("etc/ssl/cert.pem", "certs/ca-certificates.crt"),
            file("etc/ssl/certs/ca-certificates.crt", CA_BUNDLE_STUB),
        ),
        apk_package(
            f"""
            P:libcrypto3
            V:{v.openssl}
            S:1789458
            I:4308992
            T:Crypto library from openssl
            U:https://www.openssl.org/
            L:Apache-2.0
            o:openssl
            m:{ariadne}
            t:{v.openssl_built}
            D:{libc}
            p:so:libcrypto.so.3=3
            """,
            directory("etc/ssl/certs"),
            directory("etc/ssl/misc"),
            directory("etc/ssl/private", 0o700),
            file("etc/ssl/ct_log_list.cnf", "# This file specifies the Certificate Transparency logs\n"),
            file("etc/ssl/ct_log_list.cnf.dist", "# This file specifies the Certificate Transparency logs\n"),
            file("etc/ssl/openssl.cnf", "# OpenSSL example configuration file.\nHOME\t\t\t= .\n"),
            file("etc/ssl/openssl.cnf.dist", "# OpenSSL example configuration file.\nHOME\t\t\t= .\n"),
            stub("lib/libcrypto.so.3", f"libcrypto3 {v.openssl} ({arch})"),
            symlink("usr/lib/libcrypto.so.3", "../../lib/libcrypto.so.3"),
            stub("usr/lib/ossl-modules/legacy.so", f"libcrypto3 {v.openssl} ({arch})"),
        ),
        apk_package(
            f"""
            P:libssl3
            V:{v.openssl}
            S:243122
            I:630784
            T:SSL shared libraries
            U:https://www.openssl.org/
            L:Apache-2.0
            o:openssl
            m:{ariadne}
            t:{v.openssl_built}
            D:{libc} so:libcrypto.so.3
            p:so:libssl.so.3=3
            r:openssl
            """,
            stub("lib/libssl.so.3", f"libssl3 {v.openssl} ({arch})"),
            symlink("usr/lib/libssl.so.3", "../../lib/libssl.so.3"),
        ),
        apk_package(
            f"""
            P:musl
            V:1.2.4_git20230717-r4
            S:407278
            I:667648
            T:the musl c library (libc) implementation
            U:https://musl.libc.org/
            L:MIT
            o:musl
            m:Timo Teräs <timo.teras@iki.fi>
            t:1700076329
            p:{libc}=1
            """,
            stub(f"lib/ld-musl-{arch}.so.1", f"musl 1.2.4_git20230717-r4 ({arch})"),
            symlink(f"lib/libc.musl-{arch}.so.1", f"ld-musl-{arch}.so.1"),
        ),
        apk_package(
            f"""
            P:zlib
            V:1.3-r2
            S:53629
            I:106496
            T:A compression/decompression Library
            U:https://zlib.net/
            L:Zlib
            o:zlib
            m:{ncopa}
            t:1697632113
            D:{libc}
            p:so:libz.so.1=1.3
            """,
            symlink("lib/libz.so.1", "libz.so.1.3"),
            stub("lib/libz.so.1.3", f"zlib 1.3-r2 ({arch})"),
        ),
    ]


def alpine_base_layer(arch: str, v: AlpineVersions) -> list[Entry]:
    """The Alpine 3.19.1 root filesystem: packages, their apk database, and the unowned release files."""
    packages = sorted(alpine_packages(arch, v), key=lambda p: p.fields["P"])
    installed = "".join(apk_record(pkg, arch) + "\n" for pkg in packages)
    repositories = "".join(f"https://dl-cdn.alpinelinux.org/alpine/v3.19/{r}\n" for r in ("main", "community"))
    return [
        *(entry for pkg in packages for entry in pkg.files),
        file("etc/os-release", ALPINE_OS_RELEASE),
        file("etc/alpine-release", ALPINE_RELEASE + "\n"),
        file("etc/passwd", ALPINE_PASSWD),
        file("etc/group", ALPINE_GROUP),
        file("etc/apk/arch", arch + "\n"),
        file("etc/apk/world", "alpine-baselayout\napk-tools\nbusybox\n"),
        file("etc/apk/repositories", repositories),
        file("lib/apk/db/installed", installed),
        file("lib/apk/db/triggers", ""),
        file("lib/apk/db/lock", "", 0o600),
        # busybox applet links are made by busybox's install script, so the apk database lists none of them.
        *(symlink(p, "/bin/busybox") for p in ("bin/cat", "bin/echo", "bin/ls", "bin/rm", "usr/bin/wget")),
    ]


NODE_LAYER = [
    stub("usr/local/bin/node", "Node.js v18.19.0"),
    symlink("usr/local/bin/nodejs", "node"),
    symlink("usr/local/bin/npm", "../lib/node_modules/npm/bin/npm-cli.js"),
    symlink("usr/local/bin/npx", "../lib/node_modules/npm/bin/npx-cli.js"),
    file("usr/local/lib/node_modules/npm/package.json", '{\n  "name": "npm",\n  "version": "10.2.3"\n}\n'),
    file(
        "usr/local/lib/node_modules/npm/bin/npm-cli.js",
        "#!/usr/bin/env node\nrequire('../lib/cli.js')(process)\n",
        0o755,
    ),
    file("usr/local/lib/node_modules/npm/bin/npx-cli.js", "#!/usr/bin/env node\n// npx stub\n", 0o755),
    file(
        "usr/local/include/node/node_version.h",
        "#define NODE_MAJOR_VERSION 18\n#define NODE_MINOR_VERSION 19\n",
    ),
    file(
        "usr/local/bin/docker-entrypoint.sh",
        '#!/bin/sh\nset -e\n\nif [ "${1#-}" != "${1}" ] || [ -z "$(command -v "${1}")" ]; then\n'
        '  set -- node "$@"\nfi\n\nexec "$@"\n',
        0o755,
    ),
    # `addgroup -g 1000 node && adduser -u 1000 -G node -s /bin/sh -D node`: rewritten account files.
    file("etc/passwd", ALPINE_PASSWD + "node:x:1000:1000:Linux User,,,:/home/node:/bin/sh\n"),
    file("etc/group", ALPINE_GROUP + "node:x:1000:node\n"),
    directory("home/node", 0o755, 1000, 1000),
    # The app layer deletes a file of the base layer; the apk database is left untouched.
    whiteout("etc/motd"),
]


# ---------------------------------------------------------------------------------------------
# Debian: packages, /var/lib/dpkg/status (+ info/*.list, *.md5sums) and distroless status.d
# ---------------------------------------------------------------------------------------------

# dpkg writes known fields in this order (lib/dpkg/parse.c fieldinfos), then others such as Homepage.
STATUS_ORDER = """
    Package Essential Status Priority Section Installed-Size Maintainer Architecture Multi-Arch Source Version
    Replaces Provides Depends Pre-Depends Recommends Suggests Breaks Conflicts Conffiles Description Homepage
""".split()  # noqa: SIM905 -- a word list reads best as text
# distroless copies each package's DEBIAN/control as is: dpkg-gencontrol order and no Status field.
CONTROL_ORDER = """
    Package Source Version Architecture Essential Maintainer Installed-Size Pre-Depends Depends Recommends
    Suggests Conflicts Breaks Replaces Provides Section Priority Multi-Arch Homepage Description
""".split()  # noqa: SIM905 -- a word list reads best as text


@dataclass(frozen=True)
class DebPackage:
    fields: dict[str, str]  # control fields; multi-line values keep their "\n " continuation lines
    files: tuple[Entry, ...] = ()  # at the paths the .deb ships (pre-usrmerge: bin/bash, lib/...)
    conffiles: tuple[str, ...] = ()

    @property
    def name(self) -> str:
        return self.fields["Package"]

    @property
    def info_name(self) -> str:
        same = self.fields.get("Multi-Arch") == "same"
        return f"{self.name}:{self.fields['Architecture']}" if same else self.name


def deb_package(control: str, *files: Entry, conffiles: tuple[str, ...] = ()) -> DebPackage:
    """A package from control-file text (common indentation removed) and the files it ships."""
    fields: dict[str, str] = {}
    key = ""
    for line in textwrap.dedent(control).strip("\n").splitlines():
        if line.startswith(" "):
            fields[key] += "\n" + line
        else:
            key, _, value = line.partition(":")
            fields[key] = value.strip()
    return DebPackage(fields, files, conffiles)


def deb_stanza(pkg: DebPackage, order: list[str]) -> str:
    """A dpkg stanza in `order`; with STATUS_ORDER it gains Status and Conffiles as dpkg records them."""
    values = dict(pkg.fields)
    if "Status" in order:
        values["Status"] = "install ok installed"
        content = {e.path: e.data for e in pkg.files}
        if pkg.conffiles:
            values["Conffiles"] = "".join(
                f"\n /{path} {hashlib.md5(content[path]).hexdigest()}" for path in pkg.conffiles
            )
    if unknown := set(values) - set(order):
        raise ValueError(f"{pkg.name}: fields {sorted(unknown)} have no place in the field order")
    lines = [
        f"{key}:{values[key]}" if key == "Conffiles" else f"{key}: {values[key]}" for key in order if key in values
    ]
    return "\n".join(lines) + "\n"


def dpkg_info(pkg: DebPackage) -> list[Entry]:
    """var/lib/dpkg/info/<pkg>.list and .md5sums, from the files the package ships."""
    paths = {e.path for e in pkg.files}
    for path in list(paths):
        while path := posixpath.dirname(path):
            paths.add(path)
    listing = "/.\n" + "".join(f"/{p}\n" for p in sorted(paths, key=_member_order))
    sums = "".join(
        f"{hashlib.md5(e.data).hexdigest()}  {e.path}\n"
        for e in sorted(pkg.files, key=lambda e: e.path)
        if e.kind == "file" and e.path not in pkg.conffiles
    )
    info = f"var/lib/dpkg/info/{pkg.info_name}"
    return [file(f"{info}.list", listing), file(f"{info}.md5sums", sums)]


def copyright_file(pkg: str, upstream: str) -> Entry:
    return file(
        f"usr/share/doc/{pkg}/copyright",
        "Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/\n"
        f"Upstream-Name: {upstream}\n\n(ecrlab sample: license text omitted)\n",
    )


DEBIAN_OS_RELEASE = """\
PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"
NAME="Debian GNU/Linux"
VERSION_ID="12"
VERSION="12 (bookworm)"
VERSION_CODENAME=bookworm
ID=debian
HOME_URL="https://www.debian.org/"
SUPPORT_URL="https://www.debian.org/support"
BUG_REPORT_URL="https://bugs.debian.org/"
"""
DISTROLESS_OS_RELEASE = """\
PRETTY_NAME="Distroless"
NAME="Debian GNU/Linux"
ID="debian"
VERSION_ID="12"
VERSION="Debian GNU/Linux 12 (bookworm)"
HOME_URL="https://github.com/GoogleContainerTools/distroless"
SUPPORT_URL="https://github.com/GoogleContainerTools/distroless/blob/master/README.md"
BUG_REPORT_URL="https://github.com/GoogleContainerTools/distroless/issues/new"
"""
DEBIAN_MOTD = """
The programs included with the Debian GNU/Linux system are free software;
the exact distribution terms for each program are described in the
individual files in /usr/share/doc/*/copyright.

Debian GNU/Linux comes with ABSOLUTELY NO WARRANTY, to the extent
permitted by applicable law.
"""


def base_files() -> DebPackage:
    return deb_package(
        """
        Package: base-files
        Version: 12.4+deb12u4
        Essential: yes
        Priority: required
        Section: admin
        Installed-Size: 341
        Maintainer: Santiago Vila <sanvila@debian.org>
        Architecture: amd64
        Multi-Arch: foreign
        Pre-Depends: awk
        Description: Debian base system miscellaneous files
         This package contains the basic filesystem hierarchy of a Debian system, and
         several important miscellaneous files, such as /etc/debian_version,
         /etc/host.conf, /etc/issue, /etc/motd, /etc/profile, and others,
         and the text of several common licenses in use on Debian systems.
        """,
        file("etc/debian_version", "12.4\n"),
        file(
            "etc/dpkg/origins/debian",
            "Vendor: Debian\nVendor-URL: https://www.debian.org/\nBugs: debbugs://bugs.debian.org\n",
        ),
        file("etc/host.conf", "multi on\n"),
        file("etc/issue", "Debian GNU/Linux 12 \\n \\l\n\n"),
        file("etc/issue.net", "Debian GNU/Linux 12\n"),
        file("etc/os-release", DEBIAN_OS_RELEASE),
        file("etc/update-motd.d/10-uname", "#!/bin/sh\nuname -snrvm\n", 0o755),
        file("usr/share/base-files/motd", DEBIAN_MOTD),
        copyright_file("base-files", "base-files"),
        conffiles=(
            "etc/debian_version",
            "etc/dpkg/origins/debian",
            "etc/host.conf",
            "etc/issue",
            "etc/issue.net",
            "etc/update-motd.d/10-uname",
        ),
    )


def libssl3() -> DebPackage:
    what = "libssl3 3.0.11-1~deb12u2 (amd64)"
    return deb_package(
        """
        Package: libssl3
        Version: 3.0.11-1~deb12u2
        Priority: optional
        Section: libs
        Installed-Size: 6027
        Maintainer: Debian OpenSSL Team <pkg-openssl-devel@alioth-lists.debian.net>
        Architecture: amd64
        Multi-Arch: same
        Source: openssl
        Depends: libc6 (>= 2.34)
        Description: Secure Sockets Layer toolkit - shared libraries
         This package is part of the OpenSSL project's implementation of the SSL
         and TLS cryptographic protocols for secure communication over the
         Internet.
         .
         It provides the libssl and libcrypto shared libraries.
        Homepage: https://www.openssl.org/
        """,
        stub("usr/lib/x86_64-linux-gnu/libcrypto.so.3", what, 0o644),
        stub("usr/lib/x86_64-linux-gnu/libssl.so.3", what, 0o644),
        stub("usr/lib/x86_64-linux-gnu/ossl-modules/legacy.so", what, 0o644),
        copyright_file("libssl3", "OpenSSL"),
    )


def tzdata() -> DebPackage:
    return deb_package(
        """
        Package: tzdata
        Version: 2024a-0+deb12u1
        Priority: required
        Section: localization
        Installed-Size: 3234
        Maintainer: GNU Libc Maintainers <debian-glibc@lists.debian.org>
        Architecture: all
        Multi-Arch: foreign
        Provides: tzdata-bookworm
        Depends: debconf (>= 0.5) | debconf-2.0
        Description: time zone and daylight-saving time data
         This package contains data required for the implementation of
         standard local time for many representative locations around the
         globe. It is updated periodically to reflect changes made by
         political bodies to time zone boundaries, UTC offsets, and
         daylight-saving rules.
        Homepage: https://www.iana.org/time-zones
        """,
        file("usr/share/zoneinfo/Etc/UTC", "# ecrlab sample stub for the TZif file of Etc/UTC\n"),
        symlink("usr/share/zoneinfo/UTC", "Etc/UTC"),
        copyright_file("tzdata", "tzdata"),
    )


def debian_packages() -> list[DebPackage]:
    """The debian:bookworm package set (amd64)."""
    bash = deb_package(
        """
        Package: bash
        Version: 5.2.15-2+b2
        Essential: yes
        Priority: required
        Section: shells
        Installed-Size: 7164
        Maintainer: Matthias Klose <doko@debian.org>
        Architecture: amd64
        Multi-Arch: foreign
        Source: bash (5.2.15-2)
        Replaces: bash-completion (<< 20060301-0), bash-doc (<= 2.05-1)
        Depends: base-files (>= 2.1.12), debianutils (>= 5.6-0.1)
        Pre-Depends: libc6 (>= 2.36), libtinfo6 (>= 6)
        Recommends: bash-completion (>= 20060301-0)
        Suggests: bash-doc
        Conflicts: bash-completion (<< 20060301-0)
        Description: GNU Bourne Again SHell
         Bash is an sh-compatible command language interpreter that executes
         commands read from the standard input or from a file.  Bash also
         incorporates useful features from the Korn and C shells (ksh and csh).
         .
         Bash is ultimately intended to be a conformant implementation of the
         IEEE POSIX Shell and Tools specification (IEEE Working Group 1003.2).
         .
         The Programmable Completion Code, by Ian Macdonald, is now found in
         the bash-completion package.
        Homepage: http://tiswww.case.edu/php/chet/bash/bashtop.html
        """,
        stub("bin/bash", "GNU bash 5.2.15"),
        file("etc/bash.bashrc", "# System-wide .bashrc file for interactive bash(1) shells.\n"),
        file("etc/skel/.bash_logout", "# ~/.bash_logout: executed by bash(1) when login shell exits.\n"),
        file("etc/skel/.bashrc", "# ~/.bashrc: executed by bash(1) for non-login shells.\n"),
        file("etc/skel/.profile", "# ~/.profile: executed by the command interpreter for login shells.\n"),
        copyright_file("bash", "bash"),
        conffiles=("etc/bash.bashrc", "etc/skel/.bash_logout", "etc/skel/.bashrc", "etc/skel/.profile"),
    )
    coreutils = deb_package(
        """
        Package: coreutils
        Version: 9.1-1
        Essential: yes
        Priority: required
        Section: utils
        Installed-Size: 18062
        Maintainer: Michael Stone <mstone@debian.org>
        Architecture: amd64
        Multi-Arch: foreign
        Pre-Depends: libacl1 (>= 2.2.23), libattr1 (>= 1:2.4.44), libc6 (>= 2.34), libgmp10 (>= 2:6.2.1+dfsg1), libselinux1 (>= 3.1~), libssl3 (>= 3.0.0)
        Description: GNU core utilities
         This package contains the basic file, shell and text manipulation
         utilities which are expected to exist on every operating system.
         .
         Specifically, this package includes:
         arch base64 basename cat chcon chgrp chmod chown chroot cksum comm cp
         csplit cut date dd df dir dircolors dirname du echo env expand expr
         factor false flock fmt fold groups head hostid id install join link ln
         logname ls md5sum mkdir mkfifo mknod mktemp mv nice nl nohup nproc numfmt
         od paste pathchk pinky pr printenv printf ptx pwd readlink realpath rm
         rmdir runcon sha*sum seq shred sleep sort split stat stty sum sync tac
         tail tee test timeout touch tr true truncate tsort tty uname unexpand
         uniq unlink users vdir wc who whoami yes
        Homepage: http://gnu.org/software/coreutils
        """,  # noqa: E501 -- dpkg keeps a field on one line however long
        stub("bin/cat", "GNU coreutils 9.1"),
        stub("bin/ls", "GNU coreutils 9.1"),
        stub("bin/rm", "GNU coreutils 9.1"),
        stub("usr/bin/env", "GNU coreutils 9.1"),
        copyright_file("coreutils", "GNU coreutils"),
    )
    libc6 = deb_package(
        """
        Package: libc6
        Version: 2.36-9+deb12u3
        Priority: optional
        Section: libs
        Installed-Size: 12985
        Maintainer: GNU Libc Maintainers <debian-glibc@lists.debian.org>
        Architecture: amd64
        Multi-Arch: same
        Source: glibc
        Depends: libgcc-s1
        Description: GNU C Library: Shared libraries
         Contains the standard libraries that are used by nearly all programs on
         the system. This package includes shared versions of the standard C library
         and the standard math library, as well as many others.
        Homepage: https://www.gnu.org/software/libc/libc.html
        """,
        file(
            "etc/ld.so.conf.d/x86_64-linux-gnu.conf",
            "# Multiarch support\n/usr/local/lib/x86_64-linux-gnu\n/lib/x86_64-linux-gnu\n/usr/lib/x86_64-linux-gnu\n",
        ),
        stub("lib/x86_64-linux-gnu/ld-linux-x86-64.so.2", "glibc 2.36-9+deb12u3 (amd64)"),
        stub("lib/x86_64-linux-gnu/libc.so.6", "glibc 2.36-9+deb12u3 (amd64)", 0o644),
        symlink("lib64/ld-linux-x86-64.so.2", "/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2"),
        copyright_file("libc6", "GNU C Library"),
        conffiles=("etc/ld.so.conf.d/x86_64-linux-gnu.conf",),
    )
    libgnutls30 = deb_package(
        """
        Package: libgnutls30
        Version: 3.7.9-2+deb12u1
        Priority: optional
        Section: libs
        Installed-Size: 3369
        Maintainer: Debian GnuTLS Maintainers <pkg-gnutls-maint@lists.alioth.debian.org>
        Architecture: amd64
        Multi-Arch: same
        Source: gnutls28
        Depends: libc6 (>= 2.34), libgmp10 (>= 2:6.2.1+dfsg1), libhogweed6 (>= 3.6), libidn2-0 (>= 2.0.0), libnettle8 (>= 3.7~), libp11-kit0 (>= 0.23.18.1), libtasn1-6 (>= 4.14), libunistring2 (>= 0.9.7)
        Suggests: gnutls-bin
        Description: GNU TLS library - main runtime library
         GnuTLS is a portable library which implements the Transport Layer
         Security (TLS 1.0, 1.1, 1.2, 1.3) and Datagram
         Transport Layer Security (DTLS 1.0, 1.2) protocols.
         .
         This package contains the main runtime library.
        Homepage: https://www.gnutls.org/
        """,  # noqa: E501 -- dpkg keeps a field on one line however long
        symlink("usr/lib/x86_64-linux-gnu/libgnutls.so.30", "libgnutls.so.30.36.0"),
        stub("usr/lib/x86_64-linux-gnu/libgnutls.so.30.36.0", "gnutls 3.7.9-2+deb12u1 (amd64)", 0o644),
        copyright_file("libgnutls30", "GnuTLS"),
    )
    openssl = deb_package(
        """
        Package: openssl
        Version: 3.0.11-1~deb12u2
        Priority: optional
        Section: utils
        Installed-Size: 2298
        Maintainer: Debian OpenSSL Team <pkg-openssl-devel@alioth-lists.debian.net>
        Architecture: amd64
        Multi-Arch: foreign
        Depends: libc6 (>= 2.34), libssl3 (>= 3.0.9)
        Suggests: ca-certificates
        Description: Secure Sockets Layer toolkit - cryptographic utility
         This package is part of the OpenSSL project's implementation of the SSL
         and TLS cryptographic protocols for secure communication over the
         Internet.
         .
         It contains the general-purpose command line binary /usr/bin/openssl,
         useful for cryptographic operations such as:
          * creating RSA, DH, and DSA key parameters;
          * creating X.509 certificates, CSRs, and CRLs;
          * calculating message digests;
          * encrypting and decrypting with ciphers;
          * testing SSL/TLS clients and servers;
          * handling S/MIME signed or encrypted mail.
        Homepage: https://www.openssl.org/
        """,
        file("etc/ssl/openssl.cnf", "#\n# OpenSSL example configuration file.\n#\nHOME\t\t\t= .\n"),
        symlink("usr/lib/ssl/openssl.cnf", "/etc/ssl/openssl.cnf"),
        stub("usr/bin/openssl", "OpenSSL 3.0.11 (Debian 3.0.11-1~deb12u2)"),
        copyright_file("openssl", "OpenSSL"),
        conffiles=("etc/ssl/openssl.cnf",),
    )
    zlib1g = deb_package(
        """
        Package: zlib1g
        Version: 1:1.2.13.dfsg-1
        Priority: required
        Section: libs
        Installed-Size: 168
        Maintainer: Mark Brown <broonie@debian.org>
        Architecture: amd64
        Multi-Arch: same
        Source: zlib
        Provides: libz1
        Depends: libc6 (>= 2.14)
        Breaks: libxml2 (<< 2.7.6.dfsg-2), texlive-binaries (<< 2009-12)
        Conflicts: zlib1 (<= 1:1.0.4-7)
        Description: compression library - runtime
         zlib is a library implementing the deflate compression method found
         in gzip and PKZIP.  This package includes the shared library.
        Homepage: http://zlib.net/
        """,
        symlink("lib/x86_64-linux-gnu/libz.so.1", "libz.so.1.2.13"),
        stub("lib/x86_64-linux-gnu/libz.so.1.2.13", "zlib 1.2.13 (amd64)", 0o644),
        copyright_file("zlib1g", "zlib"),
    )
    return [base_files(), bash, coreutils, libc6, libgnutls30, libssl3(), openssl, tzdata(), zlib1g]


def merged_usr(entry: Entry) -> Entry:
    """bookworm images are merged-/usr: /bin, /lib, /lib64, /sbin are symlinks into /usr."""
    top, _, rest = entry.path.partition("/")
    if top in {"bin", "lib", "lib64", "sbin"} and rest:
        return Entry(f"usr/{entry.path}", entry.kind, entry.data, entry.mode, entry.uid, entry.gid)
    return entry


def debian_base_layer() -> list[Entry]:
    """debian:bookworm (12.4): packages, dpkg status and info files, merged-/usr symlinks."""
    packages = sorted(debian_packages(), key=lambda p: p.name)  # dpkg keeps status sorted by name
    status = "".join(deb_stanza(pkg, STATUS_ORDER) + "\n" for pkg in packages)
    return [
        *(merged_usr(e) for pkg in packages for e in pkg.files),
        *(info for pkg in packages for info in dpkg_info(pkg)),
        *(symlink(top, f"usr/{top}") for top in ("bin", "lib", "lib64", "sbin")),
        file("etc/motd", DEBIAN_MOTD),  # copied from usr/share/base-files/motd by base-files' postinst
        file("etc/timezone", "Etc/UTC\n"),
        symlink("etc/localtime", "/usr/share/zoneinfo/Etc/UTC"),
        directory("root", 0o700),
        directory("tmp", 0o1777),
        directory("var/lib/dpkg/updates"),
        file("var/lib/dpkg/status", status),
        file("var/lib/dpkg/available", ""),
    ]


DEBIAN_APP_LAYER = [
    file("app/server.sh", '#!/bin/bash\nexec echo "hello from the ecrlab debian-app sample"\n', 0o755),
    # `rm -rf /usr/share/doc && mkdir -p /usr/share/doc/app && rm /etc/motd` in one RUN step:
    # the recreated directory becomes an opaque whiteout, the single file an ordinary one.
    opaque("usr/share/doc"),
    file("usr/share/doc/app/README", "Docs of the base image were removed to slim it down.\n"),
    whiteout("etc/motd"),
]

DISTROLESS_PASSWD = """\
root:x:0:0:root:/root:/sbin/nologin
nobody:x:65534:65534:nobody:/nonexistent:/sbin/nologin
nonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin
"""
DISTROLESS_GROUP = "root:x:0:\nnobody:x:65534:\ntty:x:5:\nstaff:x:50:\nnonroot:x:65532:\n"


def distroless_layer() -> list[Entry]:
    """gcr.io/distroless/static-debian12:nonroot-style root: status.d stanzas instead of a status file."""
    netbase = deb_package(
        """
        Package: netbase
        Version: 6.4
        Priority: optional
        Section: admin
        Installed-Size: 41
        Maintainer: Marco d'Itri <md@linux.it>
        Architecture: all
        Multi-Arch: foreign
        Description: Basic TCP/IP networking system
         This package provides the necessary infrastructure for basic TCP/IP based
         networking.
         .
         In particular, it supplies common name-to-number mappings in /etc/services,
         /etc/rpc, /etc/protocols and /etc/ethertypes.
        """,
        file("etc/ethertypes", "IPv4\t0800\tip ip4\t\t# Internet IP (IPv4)\n"),
        file(
            "etc/protocols",
            "ip\t0\tIP\t\t# internet protocol, pseudo protocol number\n"
            "tcp\t6\tTCP\t\t# transmission control protocol\nudp\t17\tUDP\t\t# user datagram protocol\n",
        ),
        file("etc/rpc", "portmapper\t100000\tportmap sunrpc rpcbind\n"),
        file("etc/services", "http\t\t80/tcp\t\twww\t\t# WorldWideWeb HTTP\nhttps\t\t443/tcp\n"),
        copyright_file("netbase", "netbase"),
    )
    base = base_files()
    # distroless keeps only some of base-files' payload and writes its own os-release (below).
    base_payload = [e for e in base.files if e.path in {"etc/debian_version", "etc/host.conf"}]
    packages = [base, netbase, tzdata(), libssl3()]
    return [
        *base_payload,
        *(e for pkg in packages[1:] for e in pkg.files),
        *(file(f"var/lib/dpkg/status.d/{pkg.name}", deb_stanza(pkg, CONTROL_ORDER)) for pkg in packages),
        file("etc/os-release", DISTROLESS_OS_RELEASE),
        file("etc/passwd", DISTROLESS_PASSWD),
        file("etc/group", DISTROLESS_GROUP),
        file("etc/nsswitch.conf", "hosts: files dns\n"),
        file("etc/ssl/certs/ca-certificates.crt", CA_BUNDLE_STUB),
        directory("home/nonroot", 0o700, 65532, 65532),
        directory("root", 0o700),
        directory("tmp", 0o1777),
    ]


# ---------------------------------------------------------------------------------------------
# Images and layouts
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Step:
    """One history entry; steps with `entries` produce a layer (even an empty list would)."""

    created: str
    created_by: str
    entries: list[Entry] | None = None
    comment: str | None = "buildkit.dockerfile.v0"


@dataclass
class Image:
    architecture: str
    steps: list[Step]
    env: list[str] = field(default_factory=lambda: [PATH_ENV])
    cmd: list[str] | None = None
    entrypoint: list[str] | None = None
    user: str | None = None
    working_dir: str | None = None
    variant: str | None = None

    def platform(self) -> dict[str, str]:
        platform = {"architecture": self.architecture, "os": "linux"}
        if self.variant:
            platform["variant"] = self.variant
        return platform


class LayoutWriter:
    """Writes content-addressed blobs into one OCI image layout directory."""

    def __init__(self, root: Path) -> None:
        self.root = root
        if root.exists():
            shutil.rmtree(root)
        (root / "blobs" / "sha256").mkdir(parents=True)

    def put(self, data: bytes, media_type: str) -> dict[str, object]:
        digest = hashlib.sha256(data).hexdigest()
        (self.root / "blobs" / "sha256" / digest).write_bytes(data)
        return {"mediaType": media_type, "digest": f"sha256:{digest}", "size": len(data)}

    def put_image(self, image: Image) -> dict[str, object]:
        layers, diff_ids, history = [], [], []
        for step in image.steps:
            entry: dict[str, object] = {"created": step.created, "created_by": step.created_by}
            if step.comment:
                entry["comment"] = step.comment
            if step.entries is None:
                entry["empty_layer"] = True
            else:
                tar = layer_tar(step.entries, epoch(step.created))
                diff_ids.append(f"sha256:{hashlib.sha256(tar).hexdigest()}")
                layers.append(self.put(gzip_bytes(tar), LAYER))
            history.append(entry)
        run_config: dict[str, object] = {"Env": image.env}
        for key, value in (
            ("User", image.user),
            ("WorkingDir", image.working_dir),
            ("Entrypoint", image.entrypoint),
            ("Cmd", image.cmd),
        ):
            if value is not None:
                run_config[key] = value
        config = {
            "created": image.steps[-1].created,
            "architecture": image.architecture,
            **({"variant": image.variant} if image.variant else {}),
            "os": "linux",
            "config": run_config,
            "rootfs": {"type": "layers", "diff_ids": diff_ids},
            "history": history,
        }
        manifest = {
            "schemaVersion": 2,
            "mediaType": MANIFEST,
            "config": self.put(json_bytes(config), CONFIG),
            "layers": layers,
        }
        return self.put(json_bytes(manifest), MANIFEST)

    def put_index(self, children: list[tuple[dict[str, object], Image]]) -> dict[str, object]:
        manifests = [{**desc, "platform": image.platform()} for desc, image in children]
        return self.put(json_bytes({"schemaVersion": 2, "mediaType": INDEX, "manifests": manifests}), INDEX)

    def finish(self, descriptor: dict[str, object], tag: str) -> None:
        (self.root / "oci-layout").write_text('{"imageLayoutVersion": "1.0.0"}')
        ref = {**descriptor, "annotations": {REF_NAME: tag}}
        (self.root / "index.json").write_bytes(json_bytes({"schemaVersion": 2, "mediaType": INDEX, "manifests": [ref]}))


ALPINE_BUILT = "2024-01-27T00:30:48Z"
NODE_BUILT = "2024-01-30T18:52:06Z"
NODE_FIXED_BUILT = "2024-09-10T09:12:40Z"
NODE_APP_BUILT = "2024-02-05T10:00:00Z"
DEBIAN_BUILT = "2024-01-11T00:00:00Z"
DEBIAN_APP_BUILT = "2024-01-15T10:00:00Z"
DISTROLESS_BUILT = "1970-01-01T00:00:00Z"  # bazel-built distroless images carry the epoch
SCRATCH_BUILT = "2024-02-01T12:00:00Z"


def alpine_image(arch: str, versions: AlpineVersions) -> Image:
    goarch, variant = {"x86_64": ("amd64", None), "aarch64": ("arm64", "v8")}[arch]
    return Image(
        goarch,
        [
            Step(
                ALPINE_BUILT,
                f"ADD alpine-minirootfs-{ALPINE_RELEASE}-{arch}.tar.gz / # buildkit",
                alpine_base_layer(arch, versions),
            ),
            Step(ALPINE_BUILT, 'CMD ["/bin/sh"]'),
        ],
        cmd=["/bin/sh"],
        variant=variant,
    )


def node_image(versions: AlpineVersions, built: str) -> Image:
    base = alpine_image("x86_64", versions)
    return Image(
        "amd64",
        [
            *base.steps,
            Step(built, "ENV NODE_VERSION=18.19.0"),
            Step(
                built,
                "RUN /bin/sh -c addgroup -g 1000 node && adduser -u 1000 -G node -s /bin/sh -D node"
                " && tar -xJf node-v18.19.0-linux-x64-musl.tar.xz -C /usr/local --strip-components=1"
                " --no-same-owner && rm -f /etc/motd # buildkit",
                NODE_LAYER,
            ),
            Step(built, "ENV YARN_VERSION=1.22.19"),
            Step(built, 'ENTRYPOINT ["docker-entrypoint.sh"]'),
            Step(built, 'CMD ["node"]'),
        ],
        env=[PATH_ENV, "NODE_VERSION=18.19.0", "YARN_VERSION=1.22.19"],
        entrypoint=["docker-entrypoint.sh"],
        cmd=["node"],
    )


def npm_manifest(name: str, version: str, description: str, **extra: object) -> str:
    """A package.json as npm leaves it in node_modules (trimmed to the fields a scanner or a reader needs)."""
    document = {"name": name, "version": version, "description": description, "license": "ISC", **extra}
    return json.dumps(document, indent=2) + "\n"


# `npm ci --omit=dev` for an app that depends on semver 7.5.1 (CVE-2022-25883, fixed in 7.5.2) and its two
# dependencies, which no advisory in data/vulndb names.
NODE_APP_SOURCE = [
    file(
        "app/package.json",
        json.dumps(
            {"name": "ecrlab-sample-app", "version": "1.0.0", "private": True, "dependencies": {"semver": "7.5.1"}},
            indent=2,
        )
        + "\n",
    ),
    file("app/server.js", "const semver = require('semver')\nconsole.log(semver.valid(process.argv[2]))\n"),
]
NODE_APP_MODULES = [
    file(
        "app/node_modules/semver/package.json",
        npm_manifest(
            "semver",
            "7.5.1",
            "The semantic version parser used by npm.",
            main="index.js",
            dependencies={"lru-cache": "^6.0.0"},
        ),
    ),
    stub("app/node_modules/semver/index.js", "semver 7.5.1", 0o644),
    file(
        "app/node_modules/lru-cache/package.json",
        npm_manifest(
            "lru-cache",
            "6.0.0",
            "A cache object that deletes the least-recently-used items.",
            main="index.js",
            dependencies={"yallist": "^4.0.0"},
        ),
    ),
    stub("app/node_modules/lru-cache/index.js", "lru-cache 6.0.0", 0o644),
    file("app/node_modules/yallist/package.json", npm_manifest("yallist", "4.0.0", "Yet Another Linked List")),
    stub("app/node_modules/yallist/yallist.js", "yallist 4.0.0", 0o644),
]


def node_app_image() -> Image:
    """An app on node:18-alpine: the same two layers as `alpine-node` (same blobs), then the app and its modules."""
    node = node_image(VULNERABLE, NODE_BUILT)
    return Image(
        "amd64",
        [
            *node.steps,
            Step(NODE_APP_BUILT, "WORKDIR /app"),
            Step(NODE_APP_BUILT, "COPY package.json server.js ./ # buildkit", NODE_APP_SOURCE),
            Step(NODE_APP_BUILT, "RUN /bin/sh -c npm ci --omit=dev # buildkit", NODE_APP_MODULES),
            Step(NODE_APP_BUILT, 'CMD ["node", "server.js"]'),
        ],
        env=node.env,
        entrypoint=node.entrypoint,
        cmd=["node", "server.js"],
        working_dir="/app",
    )


def build(out_dir: Path) -> dict[str, str]:
    """Write every sample layout under `out_dir`; returns {layout name: digest its tag points at}."""
    digests: dict[str, str] = {}

    def single(name: str, tag: str, image: Image) -> None:
        writer = LayoutWriter(out_dir / name)
        descriptor = writer.put_image(image)
        writer.finish(descriptor, tag)
        digests[name] = str(descriptor["digest"])

    single("alpine-node", "18-alpine", node_image(VULNERABLE, NODE_BUILT))
    single("alpine-node-fixed", "18-alpine-fixed", node_image(PATCHED, NODE_FIXED_BUILT))
    single("alpine-node-app", "18-alpine-app", node_app_image())
    single(
        "debian-app",
        "bookworm",
        Image(
            "amd64",
            [
                Step(DEBIAN_BUILT, "/bin/sh -c #(nop) ADD file:rootfs.tar.xz in / ", debian_base_layer(), None),
                Step(DEBIAN_BUILT, '/bin/sh -c #(nop)  CMD ["bash"]', None, None),
                Step(
                    DEBIAN_APP_BUILT,
                    "RUN /bin/sh -c install -D -m 755 /src/server.sh /app/server.sh"
                    " && rm -rf /usr/share/doc && mkdir -p /usr/share/doc/app"
                    " && cp /src/README /usr/share/doc/app/"
                    " && rm /etc/motd # buildkit",
                    DEBIAN_APP_LAYER,
                ),
                Step(DEBIAN_APP_BUILT, 'CMD ["/app/server.sh"]'),
            ],
            cmd=["/app/server.sh"],
        ),
    )
    single(
        "distroless-static",
        "nonroot",
        Image(
            "amd64",
            [
                Step(
                    DISTROLESS_BUILT,
                    "bazel build //base:static_nonroot_amd64_debian12",
                    distroless_layer(),
                    None,
                )
            ],
            env=[PATH_ENV, "SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt"],
            user="65532",
            working_dir="/home/nonroot",
        ),
    )
    single(
        "scratch-binary",
        "latest",
        Image(
            "amd64",
            [
                Step(SCRATCH_BUILT, "COPY app /app # buildkit", [stub("app", "a statically linked Go binary")]),
                Step(SCRATCH_BUILT, 'ENTRYPOINT ["/app"]'),
            ],
            env=[PATH_ENV],
            entrypoint=["/app"],
        ),
    )

    writer = LayoutWriter(out_dir / "alpine-multiarch")
    children = [alpine_image(arch, VULNERABLE) for arch in ("x86_64", "aarch64")]
    index = writer.put_index([(writer.put_image(image), image) for image in children])
    writer.finish(index, "3.19")
    digests["alpine-multiarch"] = str(index["digest"])
    return digests


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out_dir", nargs="?", type=Path, default=Path(__file__).resolve().parent)
    args = parser.parse_args(argv)
    for name, digest in build(args.out_dir).items():
        print(f"{name:20} {digest}")


if __name__ == "__main__":
    main()
