"""Version order of the ecosystems the scanner reads, as sort keys so one comparison is a tuple comparison.

apk-tools' order (src/version.c), dpkg's, SemVer 2.0's (npm) and PEP 440's (`packaging`, the implementation pip
itself uses). univers' `AlpineLinuxVersion` is Gentoo's algorithm and rejects apk suffixes such as `_git` (musl
1.2.4_git20230717-r4), and its `DebianVersion` takes ~13 µs a comparison, too slow for a warm scan; the tests check
these keys against univers wherever univers accepts the versions.
"""

from __future__ import annotations

import re
from functools import lru_cache

from packaging.version import Version

# apk-tools' token types (src/version.c), in its enum order; later types sort lower when token types differ.
_DIGIT_OR_ZERO, _DIGIT, _LETTER, _SUFFIX, _SUFFIX_NO, _REVISION_NO, _END = range(7)
_PRE_SUFFIXES = {"alpha": -4, "beta": -3, "pre": -2, "rc": -1}
_POST_SUFFIXES = {"cvs": 0, "svn": 1, "git": 2, "hg": 3, "p": 4}
_SUFFIX_NAMES = sorted((*_PRE_SUFFIXES, *_POST_SUFFIXES), key=len, reverse=True)
_LOWEST = ((-2,),)  # OSV's "0": before every version of any ecosystem


@lru_cache(maxsize=1 << 16)
def apk_version_key(version: str) -> tuple:
    """Sort key in apk-tools' order: `1.2.4_rc1` < `1.2.4` < `1.2.4-r1` < `1.2.4_git2023` < `1.2.4_p1`."""
    tokens = []
    kind, i, n = _DIGIT, 0, len(version)
    while i < n:
        following = None
        if kind == _DIGIT_OR_ZERO and version[i] == "0":
            start = i  # apk counts leading zeros after a dot as a negative value, then reads the rest
            while i < n and version[i] == "0":
                i += 1
            value, following = start - i, _DIGIT
        elif kind in (_DIGIT_OR_ZERO, _DIGIT, _SUFFIX_NO, _REVISION_NO):
            start = i
            while i < n and version[i].isdigit():
                i += 1
            value = int(version[start:i] or 0)
        elif kind == _LETTER:
            value, i = ord(version[i]), i + 1
        else:
            name = next((s for s in _SUFFIX_NAMES if version.startswith(s, i)), None)
            if name is None:
                raise ValueError(f"invalid apk version {version!r}")
            value, i = _PRE_SUFFIXES.get(name, _POST_SUFFIXES.get(name, 0)), i + len(name)
        # A pre-release suffix sorts before everything, even the end of the version.
        tokens.append((-1 if kind == _SUFFIX and value < 0 else 6 - kind, value))
        if i >= n:
            break
        kind, i = (following, i) if following is not None else _next_apk_token(version, i, kind)
    tokens.append((6 - _END, 0))
    return tuple(tokens)


_APK_BACKWARD_OK = {(_DIGIT, _DIGIT_OR_ZERO), (_SUFFIX_NO, _SUFFIX), (_LETTER, _DIGIT)}


def _next_apk_token(version: str, i: int, kind: int) -> tuple[int, int]:
    """apk's next_token: the type of the token at `i` and where its value starts (separators consumed)."""
    char = version[i]
    if kind in (_DIGIT_OR_ZERO, _DIGIT) and "a" <= char <= "z":
        following = _LETTER
    elif kind == _LETTER and char.isdigit():
        following = _DIGIT
    elif kind == _SUFFIX and char.isdigit():
        following = _SUFFIX_NO
    elif char == ".":
        following, i = _DIGIT_OR_ZERO, i + 1
    elif char == "_":
        following, i = _SUFFIX, i + 1
    elif version.startswith("-r", i):
        following, i = _REVISION_NO, i + 2
    else:
        raise ValueError(f"invalid apk version {version!r}")
    if following < kind and (kind, following) not in _APK_BACKWARD_OK:
        raise ValueError(f"invalid apk version {version!r}")
    return following, i


_DPKG_END = ((0,), 0)


def _dpkg_part(text: str) -> tuple:
    """dpkg's verrevcmp as a key: non-digit runs compare char by char ('~' < end < letters < other), digit
    runs as numbers; the trailing pad stands for the empty run a shorter string compares with."""
    parts = []
    for letters, digits in re.findall(r"(\D*)(\d*)", text):
        if letters or digits:
            weights = tuple(-1 if c == "~" else ord(c) if c.isalpha() else ord(c) + 256 for c in letters)
            parts.append(((*weights, 0), int(digits or 0)))
    while parts and parts[-1] == _DPKG_END:
        parts.pop()  # "0" and "" are the same revision to dpkg
    return (*parts, _DPKG_END)


@lru_cache(maxsize=1 << 16)
def debian_version_key(version: str) -> tuple:
    """Sort key in dpkg's order: epoch, then upstream, then Debian revision (`~` before anything)."""
    epoch, colon, rest = version.partition(":")
    if not colon:
        epoch, rest = "0", version
    if not epoch.isdigit() or not rest:
        raise ValueError(f"invalid Debian version {version!r}")
    upstream, _, revision = rest.rpartition("-") if "-" in rest else (rest, "", "")
    return (int(epoch), _dpkg_part(upstream), _dpkg_part(revision))


_SEMVER_IDENTIFIER = r"(?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*)"
_SEMVER = re.compile(
    rf"[v=]?(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)"
    rf"(?:-({_SEMVER_IDENTIFIER}(?:\.{_SEMVER_IDENTIFIER})*))?(?:\+[0-9a-zA-Z-]+(?:\.[0-9a-zA-Z-]+)*)?"
)


@lru_cache(maxsize=1 << 16)
def semver_key(version: str) -> tuple:
    """Sort key in SemVer 2.0 precedence: `1.0.0-alpha` < `1.0.0-alpha.1` < `1.0.0-alpha.beta` < `1.0.0-beta.2`
    < `1.0.0-beta.11` < `1.0.0-rc.1` < `1.0.0`; build metadata (`+…`) is ignored. npm's leading `v`/`=` is
    accepted, as npm's own semver does for installed versions."""
    match = _SEMVER.fullmatch(version.strip())
    if match is None:
        raise ValueError(f"invalid SemVer version {version!r}")
    major, minor, patch, prerelease = match.groups()
    if prerelease is None:
        return (int(major), int(minor), int(patch), (1,))  # a release sorts after all of its pre-releases
    # Numeric identifiers compare as numbers and before alphanumeric ones; a longer list wins a tie.
    identifiers = tuple((0, int(p), "") if p.isdigit() else (1, 0, p) for p in prerelease.split("."))
    return (int(major), int(minor), int(patch), (0, *identifiers))


@lru_cache(maxsize=1 << 16)
def pep440_key(version: str) -> Version:
    """Sort key in PEP 440 order, as pip resolves PyPI versions; `InvalidVersion` (a ValueError) otherwise."""
    return Version(version)


def pypi_name(name: str) -> str:
    """PEP 503's normalised project name: `Foo_Bar.baz` and `foo-bar-baz` are one project."""
    return re.sub(r"[-_.]+", "-", name).lower()


def version_key(ecosystem: str, version: str) -> tuple:
    """Sort key for `version` in an OSV ecosystem ("Alpine:v3.19", "Debian:12", "npm", "PyPI"); ValueError if
    unparsable."""
    if version == "0":
        return _LOWEST
    family = ecosystem.partition(":")[0]
    if family == "Alpine":
        return ((0,), apk_version_key(version))
    if family == "Debian":
        return ((0,), debian_version_key(version))
    if family == "npm":
        return ((0,), semver_key(version))
    if family == "PyPI":
        return ((0,), pep440_key(version))
    raise ValueError(f"no version order for ecosystem {ecosystem!r}")


def range_key(range_type: str, ecosystem: str, version: str) -> tuple:
    """A version's key in one OSV range: SEMVER ranges use SemVer 2.0 whatever the ecosystem."""
    if range_type == "SEMVER":
        return _LOWEST if version == "0" else ((0,), semver_key(version))
    return version_key(ecosystem, version)
