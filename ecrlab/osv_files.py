"""OSV records read from a feed on disk: a folder of `*.json` files, one JSON file (a record or a list of records),
or OSV's per-ecosystem `all.zip`, in a stable order."""

from __future__ import annotations

import io
import json
import struct
import zipfile
import zlib
from collections.abc import Callable, Iterable, Iterator
from functools import partial
from pathlib import Path
from typing import Any, BinaryIO

from ecrlab.errors import ValidationError


def read_feed(path: Path) -> Iterator[dict[str, Any]]:
    """Every JSON object of the feed at `path`; `ValidationError` when it is no feed or a file is not JSON."""
    if path.is_dir():
        sources: Iterable[tuple[str, Callable[[], bytes]]] = (
            (str(p), p.read_bytes) for p in sorted(path.rglob("*.json"))
        )
        yield from _records(sources)
    elif zipfile.is_zipfile(path):
        with zipfile.ZipFile(path) as archive, path.open("rb") as raw:
            members = sorted((i for i in archive.infolist() if i.filename.endswith(".json")), key=lambda i: i.filename)
            yield from _records((f"{path}:{i.filename}", partial(_zip_member, archive, raw, i)) for i in members)
    elif path.is_file():
        yield from _records([(str(path), path.read_bytes)])
    else:
        raise ValidationError("feed", str(path), "must be a folder of OSV JSON files, a JSON file or an all.zip")


def _zip_member(archive: zipfile.ZipFile, raw: BinaryIO, info: zipfile.ZipInfo) -> bytes:
    """A member's bytes, inflated straight from its offset: 2-3x faster than ZipFile.read for an all.zip's
    ~10^5 small files, which is a large share of the feed's load time."""
    if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED) or info.flag_bits & 0x1:
        return archive.read(info)
    raw.seek(info.header_offset)
    local = raw.read(30)
    name_length, extra_length = struct.unpack("<HH", local[26:30])
    raw.seek(name_length + extra_length, io.SEEK_CUR)
    data = raw.read(info.compress_size)
    return zlib.decompress(data, -15) if info.compress_type == zipfile.ZIP_DEFLATED else data


def _records(sources: Iterable[tuple[str, Callable[[], bytes]]]) -> Iterator[dict[str, Any]]:
    for name, read in sources:
        try:
            data = json.loads(read())
        except (ValueError, UnicodeDecodeError) as exc:
            raise ValidationError("feed", name, f"must be OSV JSON ({exc})") from exc
        for record in data if isinstance(data, list) else [data]:
            if type(record) is dict:
                yield record
