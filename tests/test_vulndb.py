"""OSV feed loading, per-ecosystem version order, matching precision and severity mapping."""

from __future__ import annotations

import itertools
import json
import zipfile
from pathlib import Path

import pytest
from univers.versions import AlpineLinuxVersion, DebianVersion

from ecrlab.cvss import cvss3_base_score, cvss_severity
from ecrlab.emulator.rootfs import OsInfo, Package
from ecrlab.errors import ValidationError
from ecrlab.package_versions import apk_version_key, debian_version_key, pep440_key, pypi_name, semver_key, version_key
from ecrlab.vulndb import VulnDb, distro_severity

ALPINE = OsInfo("alpine", "3.19.1", "3.19", "Alpine Linux v3.19")
DEBIAN = OsInfo("debian", "12", "12", "Debian GNU/Linux 12 (bookworm)")
LAYER = "sha256:" + "0" * 64


def apk(name: str, version: str, origin: str | None = None) -> Package:
    return Package(name, version, origin or name, version, "x86_64", "apk", LAYER)


def deb(name: str, version: str, source: str | None = None, source_version: str | None = None) -> Package:
    return Package(name, version, source or name, source_version or version, "amd64", "dpkg", LAYER)


def record(id_: str, ecosystem: str, package: str, *events: dict[str, str], **extra) -> dict:
    affected = {
        "package": {"ecosystem": ecosystem, "name": package},
        "ranges": [{"type": "ECOSYSTEM", "events": list(events)}],
    }
    affected.update(extra.pop("affected_extra", {}))
    return {"id": id_, "modified": "2024-01-01T00:00:00Z", "affected": [affected], **extra}


def ids(db: VulnDb, os_info: OsInfo, packages: list[Package]) -> list[tuple[str, str]]:
    return sorted((m.vulnerability_id, m.package.name) for m in db.matches(os_info, packages))


# --- version order -----------------------------------------------------------------------------------------

APK_ORDERED = [
    "1.2.4_alpha-r0",
    "1.2.4_beta2-r0",
    "1.2.4_pre1-r0",
    "1.2.4_rc1-r0",
    "1.2.4",
    "1.2.4-r0",
    "1.2.4-r4",
    "1.2.4_cvs2020",
    "1.2.4_git20230717-r4",
    "1.2.4_git20230717-r5",
    "1.2.4_git20240101-r0",
    "1.2.4_hg1",
    "1.2.4_p1-r0",
    "1.2.4a",
    "1.2.5-r0",
    "1.2.10-r0",
    "1.36.1-r9",
    "1.36.1-r15",
    "1.36.1-r16",
    "1.36.1-r19",
]


def test_apk_order_handles_git_snapshots_suffixes_and_revisions() -> None:
    assert sorted(reversed(APK_ORDERED), key=apk_version_key) == APK_ORDERED
    assert apk_version_key("1.0-r00") == apk_version_key("1.0-r0")


def test_apk_order_keeps_apk_tools_leading_zero_rule() -> None:
    # apk-tools' version.c reads a zero-padded component after a dot as a negative token, then the digits.
    key = apk_version_key
    assert key("1.0.05") < key("1.0.4") and key("1.00") < key("1.0") and key("1.005") < key("1.05")
    assert key("05.1") == key("5.1")  # only components after a dot get the rule
    assert key("1.0") < key("1.0-r0") and key("1.0_p") < key("1.0_p0")  # the shorter version ends first


def test_apk_order_agrees_with_univers_where_univers_parses() -> None:
    versions = [
        "1.0-r1",
        "1.0.1",
        "1.1_rc1",
        "1.1_beta1",
        "1.1_p1",
        "1.1a",
        "1.1",
        "3.1.4-r0",
        "3.1.4-r5",
        "3.1.4-r10",
        "3.1.5-r0",
        "3.1.7-r1",
        "20230506-r0",
        "2.14.0-r5",
        "1.10",
        "1.9",
        "2",
    ]
    for a, b in itertools.product(versions, versions):
        ours = (apk_version_key(a) > apk_version_key(b)) - (apk_version_key(a) < apk_version_key(b))
        theirs = (AlpineLinuxVersion(a) > AlpineLinuxVersion(b)) - (AlpineLinuxVersion(a) < AlpineLinuxVersion(b))
        assert ours == theirs, (a, b)


@pytest.mark.parametrize("version", ["1.0zh", "1.2_unknown1", "1.0-1", "1.0-r1.2", "1.0_p1.2"])
def test_invalid_apk_versions_are_rejected(version: str) -> None:
    with pytest.raises(ValueError):
        version_key("Alpine:v3.19", version)


DEBIAN_VERSIONS = [
    "1.0~~",
    "1.0~~a",
    "1.0~",
    "1.0~rc1",
    "1.0~rc1-1",
    "1.0",
    "1.0-0",
    "1.0-1~deb12u1",
    "1.0-1",
    "1.0-1+b1",
    "1.0-1+deb12u1",
    "1.0+dfsg-1",
    "1.0a",
    "1.0.0",
    "1:0.9",
    "2:0.1",
    "3.0.11-1~deb12u2",
    "3.0.11-1",
    "3.0.13-1~deb12u1",
    "2.36-9+deb12u3",
    "2.36-9+deb12u4",
    "2.36-10",
    "1:1.2.13.dfsg-1",
    "1.2.14",
    "2024a-0+deb12u1",
    "5.2.15-2",
    "5.2.15-2+b2",
    "0",
    "00",
]


def test_debian_order_matches_dpkg_as_implemented_by_univers() -> None:
    for a, b in itertools.product(DEBIAN_VERSIONS, DEBIAN_VERSIONS):
        ka, kb = debian_version_key(a), debian_version_key(b)
        ua, ub = DebianVersion(a), DebianVersion(b)
        assert ((ka > kb) - (ka < kb)) == ((ua > ub) - (ua < ub)), (a, b)


def test_debian_epochs_tildes_and_binnmus() -> None:
    key = debian_version_key
    assert key("1:1.2.13.dfsg-1") > key("1.2.99")  # epoch wins
    assert key("3.0.11-1~deb12u2") < key("3.0.11-1")  # ~ sorts before the end
    assert key("3.0.11-1~deb12u1") < key("3.0.11-1~deb12u2") < key("3.0.13-1~deb12u1")
    assert key("5.2.15-2+b2") > key("5.2.15-2")
    assert key("1.0") == key("1.0-0")
    with pytest.raises(ValueError):
        key("x:1.0")


def test_osv_zero_sorts_before_every_version() -> None:
    assert version_key("Alpine:v3.19", "0") < version_key("Alpine:v3.19", "0.0.1-r0")
    assert version_key("Debian:12", "0") < version_key("Debian:12", "0~~")
    assert version_key("npm", "0") < version_key("npm", "0.0.0-0")
    assert version_key("PyPI", "0") < version_key("PyPI", "0.dev0")
    with pytest.raises(ValueError):
        version_key("Maven", "1.0")  # an ecosystem the scanner finds no packages of


# --- severity ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("vector", "score"),
    [
        ("CVSS:3.1/AV:L/AC:L/PR:N/UI:R/S:U/C:N/I:N/A:H", 5.5),
        ("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H", 9.8),
        ("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:N/A:H", 9.1),
        ("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:H", 7.5),
        ("CVSS:3.1/AV:N/AC:H/PR:N/UI:N/S:U/C:N/I:N/A:H", 5.9),
        ("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:L", 5.3),
        ("CVSS:3.1/AV:L/AC:L/PR:L/UI:N/S:U/C:H/I:H/A:H", 7.8),
        ("CVSS:3.1/AV:N/AC:L/PR:N/UI:R/S:C/C:L/I:L/A:N", 6.1),
        ("CVSS:3.0/AV:N/AC:L/PR:L/UI:N/S:C/C:H/I:H/A:H", 9.9),
        ("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:N", 0.0),
        ("CVSS:3.1/AV:N/AC:L", None),
        ("AV:N/AC:L/Au:N/C:P/I:P/A:P", None),
        ("CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N", None),
    ],
)
def test_cvss3_base_score(vector: str, score: float | None) -> None:
    assert cvss3_base_score(vector) == score


def test_cvss_bands_and_distribution_words() -> None:
    assert [cvss_severity(s) for s in (0.0, 0.1, 3.9, 4.0, 6.9, 7.0, 8.9, 9.0, 10.0)] == [
        "INFORMATIONAL",
        "LOW",
        "LOW",
        "MEDIUM",
        "MEDIUM",
        "HIGH",
        "HIGH",
        "CRITICAL",
        "CRITICAL",
    ]
    assert [
        distro_severity(w)
        for w in ("unimportant", "low**", "Medium", "high", "Important", "CRITICAL", "negligible", "moderate")
    ] == ["INFORMATIONAL", "LOW", "MEDIUM", "HIGH", "HIGH", "CRITICAL", "INFORMATIONAL", "MEDIUM"]
    assert distro_severity("not yet assigned") is None
    assert distro_severity(None) is None


def test_distribution_severity_wins_over_cvss_and_cvss_over_nothing() -> None:
    critical = [{"type": "CVSS_V3", "score": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"}]
    db = VulnDb.from_records(
        [
            record(
                "DEBIAN-CVE-2000-0001",
                "Debian:12",
                "glibc",
                {"introduced": "0"},
                severity=critical,
                affected_extra={"ecosystem_specific": {"urgency": "low"}},
            ),
            record(
                "DEBIAN-CVE-2000-0002",
                "Debian:12",
                "glibc",
                {"introduced": "0"},
                severity=critical,
                affected_extra={"ecosystem_specific": {"urgency": "not yet assigned"}},
            ),
            record("DEBIAN-CVE-2000-0003", "Debian:12", "glibc", {"introduced": "0"}),
            record(
                "GHSA-0000",
                "Debian:12",
                "glibc",
                {"introduced": "0"},
                database_specific={"severity": "MODERATE"},
            ),
        ]
    )
    found = {m.advisory.id: (m.severity, m.rating) for m in db.matches(DEBIAN, [deb("libc6", "2.36-9", "glibc")])}
    assert found == {
        "DEBIAN-CVE-2000-0001": ("LOW", "low"),
        "DEBIAN-CVE-2000-0002": ("CRITICAL", "not yet assigned"),
        "DEBIAN-CVE-2000-0003": ("UNDEFINED", None),
        "GHSA-0000": ("MEDIUM", "MODERATE"),
    }


# --- matching ----------------------------------------------------------------------------------------------


def test_alpine_matches_by_origin_and_reports_each_binary_package() -> None:
    db = VulnDb.from_records(
        [
            record(
                "ALPINE-CVE-2023-42364",
                "Alpine:v3.19",
                "busybox",
                {"introduced": "0"},
                {"fixed": "1.36.1-r19"},
                aliases=["CVE-2023-42364"],
            ),
        ]
    )
    packages = [
        apk("busybox", "1.36.1-r15"),
        apk("busybox-binsh", "1.36.1-r15", "busybox"),
        apk("zlib", "1.3-r2"),
    ]
    matches = db.matches(ALPINE, packages)
    assert sorted((m.vulnerability_id, m.package.name, m.fixed_version) for m in matches) == [
        ("CVE-2023-42364", "busybox", "1.36.1-r19"),
        ("CVE-2023-42364", "busybox-binsh", "1.36.1-r19"),
    ]
    assert db.matches(ALPINE, [apk("busybox", "1.36.1-r19")]) == []


def test_debian_matches_by_source_package_and_source_version() -> None:
    db = VulnDb.from_records(
        [
            record("DEBIAN-CVE-2023-6246", "Debian:12", "glibc", {"introduced": "0"}, {"fixed": "2.36-9+deb12u4"}),
            record("DEBIAN-CVE-2000-0001", "Debian:12", "libc6", {"introduced": "0"}),  # a binary name: never used
            # last_affected is the source version: the binNMU's binary version (…+b2) is still affected.
            record(
                "DEBIAN-CVE-2000-0002",
                "Debian:12",
                "bash",
                {"introduced": "0"},
                {"last_affected": "5.2.15-2"},
            ),
        ]
    )
    packages = [deb("libc6", "2.36-9+deb12u3", "glibc"), deb("bash", "5.2.15-2+b2", "bash", "5.2.15-2")]
    assert ids(db, DEBIAN, packages) == [("DEBIAN-CVE-2000-0002", "bash"), ("DEBIAN-CVE-2023-6246", "libc6")]


def test_no_match_for_fixed_versions_other_releases_or_other_packages() -> None:
    db = VulnDb.from_records(
        [
            record("A-FIXED-EQUAL", "Debian:12", "glibc", {"introduced": "0"}, {"fixed": "2.36-9+deb12u3"}),
            record("A-FIXED-BELOW", "Debian:12", "openssl", {"introduced": "0"}, {"fixed": "3.0.11-1~deb12u1"}),
            record("A-OTHER-RELEASE", "Debian:11", "glibc", {"introduced": "0"}, {"fixed": "2.99"}),
            record("A-OTHER-ECOSYSTEM", "Alpine:v3.19", "openssl", {"introduced": "0"}, {"fixed": "9.9.9-r0"}),
            record("A-OTHER-PACKAGE", "Debian:12", "curl", {"introduced": "0"}),
            record("A-NOT-AFFECTED", "Debian:12", "glibc", {"introduced": "0"}, {"fixed": "0"}),
            record("A-INTRODUCED-LATER", "Debian:12", "openssl", {"introduced": "3.1.0-1"}, {"fixed": "3.1.5-1"}),
            record("A-BAD-VERSION", "Debian:12", "openssl", {"introduced": "not a version"}),
            record("A-PYPI", "PyPI", "glibc", {"introduced": "0"}),
            record("A-NPM", "npm", "openssl", {"introduced": "0"}),
            record("A-MAVEN", "Maven", "glibc", {"introduced": "0"}),
        ]
    )
    packages = [deb("libc6", "2.36-9+deb12u3", "glibc"), deb("libssl3", "3.0.11-1~deb12u2", "openssl")]
    assert db.matches(DEBIAN, packages) == []  # language advisories never match OS packages of the same name
    assert db.advisory_count == 10  # the Maven-only record is not indexed


def test_several_ranges_versions_lists_and_last_affected() -> None:
    db = VulnDb.from_records(
        [
            record(
                "TWO-RANGES",
                "Alpine:v3.19",
                "openssl",
                {"introduced": "0"},
                {"fixed": "3.0.0-r0"},
                {"introduced": "3.1.0-r0"},
                {"fixed": "3.1.4-r5"},
            ),
            {
                "id": "LISTED",
                "modified": "2024-01-02T00:00:00Z",
                "affected": [{"package": {"ecosystem": "Alpine:v3.19", "name": "openssl"}, "versions": ["3.1.4-r0"]}],
            },
            record("LAST-AFFECTED", "Alpine:v3.19", "openssl", {"introduced": "0"}, {"last_affected": "3.1.4-r0"}),
        ]
    )
    found = {m.advisory.id: m.fixed_version for m in db.matches(ALPINE, [apk("libssl3", "3.1.4-r0", "openssl")])}
    assert found == {"TWO-RANGES": "3.1.4-r5", "LISTED": None, "LAST-AFFECTED": None}
    between_ranges = db.matches(ALPINE, [apk("libssl3", "3.0.5-r0", "openssl")])
    assert [m.advisory.id for m in between_ranges] == ["LAST-AFFECTED"]
    after_last_affected = db.matches(ALPINE, [apk("libssl3", "3.1.4-r1", "openssl")])
    assert [m.advisory.id for m in after_last_affected] == ["TWO-RANGES"]


def test_a_cve_reported_by_several_records_is_one_match_and_bulletins_are_skipped() -> None:
    db = VulnDb.from_records(
        [
            record(
                "DEBIAN-CVE-2024-0553",
                "Debian:12",
                "gnutls28",
                {"introduced": "0"},
                {"fixed": "3.7.9-2+deb12u2"},
                upstream=["CVE-2024-0553"],
            ),
            record("CVE-2024-0553", "Debian:12", "gnutls28", {"introduced": "0"}, {"fixed": "3.7.9-2+deb12u2"}),
            record(
                "DSA-5608-1",
                "Debian:12",
                "gnutls28",
                {"introduced": "0"},
                {"fixed": "3.7.9-2+deb12u2"},
                upstream=["CVE-2024-0553", "CVE-2024-0567"],
            ),
        ]
    )
    matches = db.matches(DEBIAN, [deb("libgnutls30", "3.7.9-2+deb12u1", "gnutls28")])
    assert [(m.vulnerability_id, m.advisory.id) for m in matches] == [("CVE-2024-0553", "DEBIAN-CVE-2024-0553")]
    assert db.advisory_count == 2


# --- loading -----------------------------------------------------------------------------------------------

RECORDS = [
    record(
        "ALPINE-CVE-2024-0727",
        "Alpine:v3.19",
        "openssl",
        {"introduced": "0"},
        {"fixed": "3.1.4-r5"},
        modified="2024-03-01T10:00:00Z",
        upstream=["CVE-2024-0727"],
    ),
    record(
        "DEBIAN-CVE-2024-0727",
        "Debian:12",
        "openssl",
        {"introduced": "0"},
        {"fixed": "3.0.13-1~deb12u1"},
        modified="2024-02-01T00:00:00.123456Z",
    ),
]


def _expected(db: VulnDb) -> list:
    return ids(db, ALPINE, [apk("libssl3", "3.1.4-r0", "openssl")]) + ids(
        db, DEBIAN, [deb("libssl3", "3.0.11-1~deb12u2", "openssl")]
    )


def test_feed_loads_from_a_folder_a_json_list_or_an_osv_all_zip(tmp_path: Path) -> None:
    folder = tmp_path / "feed"
    (folder / "nested").mkdir(parents=True)
    (folder / "a.json").write_text(json.dumps(RECORDS[0]))
    (folder / "nested" / "b.json").write_text(json.dumps(RECORDS[1]))
    (folder / "notes.txt").write_text("not a record")
    single = tmp_path / "feed.json"
    single.write_text(json.dumps(RECORDS))
    archive = tmp_path / "all.zip"
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as zf:
        for r in RECORDS:
            zf.writestr(f"{r['id']}.json", json.dumps(r))
    expected = [("CVE-2024-0727", "libssl3"), ("DEBIAN-CVE-2024-0727", "libssl3")]
    for source in (folder, single, archive):
        db = VulnDb.load(source)
        assert db.advisory_count == 2
        assert _expected(db) == expected
        assert db.updated_at is not None and db.updated_at.isoformat() == "2024-03-01T10:00:00+00:00"


def test_bad_feeds_are_validation_errors(tmp_path: Path) -> None:
    with pytest.raises(ValidationError):
        VulnDb.load(tmp_path / "missing")
    broken = tmp_path / "broken.json"
    broken.write_text("{not json")
    with pytest.raises(ValidationError) as err:
        VulnDb.load(broken)
    assert err.value.field == "feed"


def test_the_sample_feed_loads() -> None:
    db = VulnDb.load(Path(__file__).resolve().parent.parent / "data" / "vulndb")
    assert db.advisory_count >= 20
    assert db.updated_at is not None


# --- language ecosystems -----------------------------------------------------------------------------------

SEMVER_ORDERED = [  # the precedence example of semver.org 2.0.0 §11, then releases around it
    "0.9.9",
    "1.0.0-alpha",
    "1.0.0-alpha.1",
    "1.0.0-alpha.beta",
    "1.0.0-beta",
    "1.0.0-beta.2",
    "1.0.0-beta.11",
    "1.0.0-rc.1",
    "1.0.0",
    "1.0.1-0",
    "1.0.1",
    "1.2.0",
    "1.10.0",
    "2.0.0",
]


def test_semver_order_follows_semver_2_precedence() -> None:
    assert sorted(reversed(SEMVER_ORDERED), key=semver_key) == SEMVER_ORDERED
    assert semver_key("1.0.0+build.7") == semver_key("1.0.0") == semver_key("v1.0.0")  # build metadata ignored
    assert semver_key("1.0.0-2") < semver_key("1.0.0-10") < semver_key("1.0.0-a")  # numbers, then text
    assert semver_key("1.0.0-rc.1") < semver_key("1.0.0-rc.1.0")  # more identifiers win a tie


@pytest.mark.parametrize("version", ["1.0", "01.0.0", "1.0.0-01", "1.0.0-", "1.0.0-a..b", "latest"])
def test_invalid_semver_versions_are_rejected(version: str) -> None:
    with pytest.raises(ValueError):
        semver_key(version)


PEP440_ORDERED = [
    "0.9",
    "1.0.dev0",
    "1.0.dev1",
    "1.0a1.dev0",
    "1.0a1",
    "1.0b1",
    "1.0b2.post1",
    "1.0rc1",
    "1.0",
    "1.0+abc",
    "1.0+5",
    "1.0.post1.dev0",
    "1.0.post1",
    "1.0.1",
    "1.10",
    "1!0.1",
]


def test_pep440_order() -> None:
    assert sorted(reversed(PEP440_ORDERED), key=pep440_key) == PEP440_ORDERED
    assert pep440_key("1.0.0") == pep440_key("v1.0") == pep440_key("1.0")
    assert pep440_key("1.0-alpha1") == pep440_key("1.0a1") and pep440_key("1.0c1") == pep440_key("1.0RC1")
    with pytest.raises(ValueError):
        pep440_key("1.0-beta-final")


def npm(version: str, name: str = "semver") -> Package:
    """An npm package; each version in its own app, as one path holds one version."""
    return Package(name, version, name, version, "", "npm", LAYER, f"app-{version}/node_modules/{name}/package.json")


def pypi(name: str, version: str) -> Package:
    path = f"usr/lib/python3.12/site-packages/{name}-{version}.dist-info/METADATA"
    return Package(name, version, name, version, "", "python", LAYER, path)


def test_npm_semver_ranges_and_pypi_ecosystem_ranges_match_language_packages() -> None:
    semver_record = record("GHSA-TEST-SEMVER", "npm", "semver", {"introduced": "7.0.0"}, {"fixed": "7.5.2"})
    semver_record["affected"][0]["ranges"][0]["type"] = "SEMVER"
    git_range = {"type": "GIT", "repo": "https://example.com/semver", "events": [{"introduced": "0"}]}
    db = VulnDb.from_records(
        [
            semver_record,
            record("PYSEC-TEST", "PyPI", "Foo_Bar", {"introduced": "1.0"}, {"fixed": "1.2rc1"}),
            # GIT ranges are commits, not versions: never evaluated against an installed version.
            record("GHSA-TEST-GIT", "npm", "semver", {"introduced": "0"}, affected_extra={"ranges": [git_range]}),
        ]
    )
    affected = [npm("7.5.1"), npm("7.5.2-rc.1"), npm("7.0.0"), pypi("foo.bar", "1.2b9"), pypi("FOO-BAR", "1.0")]
    spared = [npm("7.5.2"), npm("7.0.0-rc.1"), npm("6.3.0"), pypi("foo-bar", "1.2rc1"), pypi("foo-bar", "0.9")]
    matched = db.matches(ALPINE, affected + spared)
    assert sorted((m.package.name, m.package.version, m.ecosystem) for m in matched) == sorted(
        (p.name, p.version, "npm" if p.manager == "npm" else "PyPI") for p in affected
    )
    assert {m.fixed_version for m in matched} == {"7.5.2", "1.2rc1"}
    assert pypi_name("Foo__Bar.baz") == "foo-bar-baz"
    assert db.matches(ALPINE, [npm("7.5.1", "not-semver"), apk("semver", "7.5.1-r0")]) == []


def test_the_sample_feed_finds_semver_before_each_fixed_version_rated_high_by_cvss() -> None:
    db = VulnDb.load(Path(__file__).resolve().parent.parent / "data" / "vulndb")
    matched = db.matches(DEBIAN, [npm("5.7.1"), npm("6.3.0"), npm("7.5.1")])
    assert sorted((m.package.version, m.fixed_version) for m in matched) == [
        ("5.7.1", "5.7.2"),
        ("6.3.0", "6.3.1"),
        ("7.5.1", "7.5.2"),
    ]
    first = matched[0]
    assert (first.vulnerability_id, first.severity, first.rating) == ("CVE-2022-25883", "HIGH", None)
    assert first.advisory.cvss_score == 7.5
    assert first.advisory.source_url == "https://github.com/advisories/GHSA-c2qf-rxjj-qqgw"
    assert db.matches(ALPINE, [npm(v) for v in ("5.7.2", "6.3.1", "7.5.2", "8.0.0")]) == []


# --- publishing into a loaded feed -------------------------------------------------------------------------


def test_added_records_match_at_once_replace_their_earlier_revision_and_date_the_feed() -> None:
    db = VulnDb.from_records([record("ALPINE-CVE-2023-42364", "Alpine:v3.19", "busybox", {"introduced": "0"})])
    zlib = record("ECRLAB-TEST-0001", "Alpine:v3.19", "zlib", {"introduced": "0"}, {"fixed": "1.3.1-r0"})
    zlib["modified"] = "2025-06-03T12:00:00Z"
    assert db.add([zlib]) == 1
    packages = [apk("busybox", "1.36.1-r15"), apk("zlib", "1.3-r2")]
    assert ids(db, ALPINE, packages) == [("ALPINE-CVE-2023-42364", "busybox"), ("ECRLAB-TEST-0001", "zlib")]
    assert (db.advisory_count, db.updated_at.isoformat()) == (2, "2025-06-03T12:00:00+00:00")
    revised = record("ECRLAB-TEST-0001", "Alpine:v3.19", "busybox", {"introduced": "0"})  # about busybox, not zlib
    revised["modified"] = "2025-06-04T00:00:00Z"
    assert db.add([revised]) == 1
    assert ids(db, ALPINE, packages) == [("ALPINE-CVE-2023-42364", "busybox"), ("ECRLAB-TEST-0001", "busybox")]
    assert (db.advisory_count, db.updated_at.isoformat()) == (2, "2025-06-04T00:00:00+00:00")


@pytest.mark.parametrize(
    ("bad", "field"),
    [
        ({"modified": ""}, "records[0].modified"),
        ({"references": ["https://example.com"]}, "records[0].references"),
        ({"aliases": ["CVE-2024-1", "CVE-2024-2"]}, "records[0].aliases"),  # a bulletin: one record per CVE
        ({"affected": [{"package": {"ecosystem": "Alpine:v3.19"}}]}, "records[0].affected[0].package"),
        ({"affected": [{"package": {"ecosystem": "Debian:12", "name": "x"}}]}, "records[0].affected[0].ranges"),
    ],
)
def test_a_bad_record_is_refused_by_field_and_nothing_is_added(bad: dict, field: str) -> None:
    db = VulnDb.from_records([])
    with pytest.raises(ValidationError) as refused:
        db.add([{**record("ECRLAB-TEST-0002", "Alpine:v3.19", "zlib", {"introduced": "0"}), **bad}])
    assert refused.value.field == field
    assert db.advisory_count == 0 and db.add([]) == 0


# --- the on-disk index -------------------------------------------------------------------------------------


def _all_zip(path: Path, records: list[dict]) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for r in records:
            zf.writestr(f"{r['id']}.json", json.dumps(r))
    return path


def test_an_indexed_feed_matches_as_the_feed_in_memory(tmp_path: Path) -> None:
    archive = _all_zip(tmp_path / "all.zip", RECORDS)
    in_memory = VulnDb.load(archive)
    built = VulnDb.indexed(archive, tmp_path / "index.sqlite")
    reopened = VulnDb.indexed(archive, tmp_path / "index.sqlite")  # the file exists now: opened, not rebuilt
    for db in (built, reopened, VulnDb.indexed(archive, None)):
        assert (
            _expected(db) == _expected(in_memory) == [("CVE-2024-0727", "libssl3"), ("DEBIAN-CVE-2024-0727", "libssl3")]
        )
        assert db.advisory_count == in_memory.advisory_count and db.updated_at == in_memory.updated_at
    assert (tmp_path / "index.sqlite").is_file()


def test_the_sample_feed_through_an_index_finds_what_it_finds_in_memory(tmp_path: Path) -> None:
    from ecrlab.package_data import sample_feed

    in_memory, indexed = VulnDb.load(sample_feed()), VulnDb.indexed(sample_feed(), tmp_path / "sample.sqlite")
    packages = [npm("7.5.1"), pypi("Jinja2", "3.1.2"), pypi("requests", "2.30.0")]
    assert ids(indexed, DEBIAN, packages) == ids(in_memory, DEBIAN, packages) != []
    assert indexed.advisory_count == in_memory.advisory_count


def test_a_published_record_supersedes_the_indexed_one(tmp_path: Path) -> None:
    db = VulnDb.indexed(_all_zip(tmp_path / "all.zip", RECORDS), tmp_path / "index.sqlite")
    count = db.advisory_count
    newer = record("DEBIAN-CVE-2024-0727", "Debian:12", "openssl", {"introduced": "0"}, {"fixed": "3.0.9-1"})
    assert db.add([newer]) == 1
    assert db.advisory_count == count  # replaced, not added
    assert ids(db, DEBIAN, [deb("libssl3", "3.0.11-1~deb12u2", "openssl")]) == []  # fixed before 3.0.11 now
    assert _expected(db) == [("CVE-2024-0727", "libssl3")]


def test_large_feed_files_are_indexed_in_the_cache_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import ecrlab.vulndb as vulndb

    monkeypatch.setenv("ECRLAB_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setattr(vulndb, "DISK_INDEX_FROM_BYTES", 1)
    archive = _all_zip(tmp_path / "all.zip", RECORDS)
    assert _expected(VulnDb.load(archive)) == [("CVE-2024-0727", "libssl3"), ("DEBIAN-CVE-2024-0727", "libssl3")]
    assert [p.suffix for p in (tmp_path / "cache" / "vulndb").iterdir()] == [".sqlite"]
