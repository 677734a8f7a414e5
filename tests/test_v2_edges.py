"""The edges of the emulator's /v2/: bad Content-Length, stalled bodies, who may use an upload, abandoned uploads.

All over real HTTP against the embedded server. Expectations come from the OCI distribution spec (error codes,
resumable uploads) and ECR's quotas (a layer is at most 52,000 MiB, the service quotas page).
"""

from __future__ import annotations

import http.client
import json
import socket
from urllib.parse import urlsplit

import pytest

import ecrlab
from ecrlab.emulator import blobstore, request_validation
from ecrlab.emulator.blobstore import BlobStore
from ecrlab.principals import act_as_role
from tests.oci import V2, digest_of, errors


@pytest.fixture
def v2(registry):
    registry.client().create_repository(repositoryName="team/app")
    return V2(registry)


def _raw(v2: V2, method: str, path: str, headers: dict[str, str], body: bytes = b"") -> tuple[int, dict, bytes]:
    """One request with headers exactly as given (http.client does not check Content-Length)."""
    parts = urlsplit(v2.base)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
    try:
        connection.putrequest(method, path, skip_accept_encoding=True)
        for name, value in {**v2.headers, **headers}.items():
            connection.putheader(name, value)
        connection.endheaders(body)
        response = connection.getresponse()
        return response.status, dict(response.getheaders()), response.read()
    finally:
        connection.close()


def _started(v2: V2) -> str:
    started = v2("POST", "/v2/team/app/blobs/uploads/")
    assert started.status == 202
    return started.headers["Location"]


@pytest.mark.parametrize("length", ["abc", "-5", "1e3", "12 34"])
def test_a_content_length_that_is_not_a_byte_count_is_refused(v2, length):
    location = _started(v2)
    status, headers, body = _raw(v2, "PATCH", location, {"Content-Length": length}, b"hello")
    assert status == 400
    assert [e["code"] for e in json.loads(body)["errors"]] == ["SIZE_INVALID"]
    assert headers.get("Connection") == "close"
    assert v2("GET", location).headers["Range"] == "0-0"  # nothing was appended


def test_a_content_length_beyond_ecrs_largest_layer_is_refused_before_reading(v2):
    location = _started(v2)
    claimed = str(52_000 * 1024 * 1024 + 1)
    status, _, body = _raw(v2, "PATCH", location, {"Content-Length": claimed}, b"only a few bytes")
    assert status == 413
    assert [e["code"] for e in json.loads(body)["errors"]] == ["SIZE_INVALID"]


def test_a_stalled_body_is_dropped_and_the_upload_resumes(v2, monkeypatch):
    monkeypatch.setattr(request_validation, "IDLE_TIMEOUT_SECONDS", 0.5)
    location = _started(v2)
    parts = urlsplit(v2.base)
    with socket.create_connection((parts.hostname, parts.port), timeout=30) as client:
        head = [f"PATCH {location} HTTP/1.1", f"Host: {parts.netloc}", "Content-Length: 100"]
        head += [f"{name}: {value}" for name, value in v2.headers.items()]
        client.sendall(("\r\n".join(head) + "\r\n\r\n").encode() + b"0123456789")  # 10 of 100 bytes, then silence
        answer = b""
        while chunk := client.recv(65536):  # the server answers and closes; it does not wait for the other 90
            answer += chunk
    assert answer.startswith(b"HTTP/1.1 400")
    assert b"BLOB_UPLOAD_INVALID" in answer
    # The upload is intact and says how much it holds (the unfinished chunk was not taken), so the client resumes.
    status = v2("GET", location)
    assert status.status == 204
    received = int(status.headers["Range"].split("-")[1]) + 1 if status.headers["Range"] != "0-0" else 0
    data = b"0123456789abcdef"
    rest = v2("PATCH", location, data[received:], {"Content-Range": f"{received}-{len(data) - 1}"})
    assert rest.headers["Range"] == f"0-{len(data) - 1}"
    assert v2("PUT", f"{location}?digest={digest_of(data)}").status == 201


def test_an_upload_belongs_to_the_principal_that_opened_it(registry, v2):
    location = _started(v2)
    v2("PATCH", location, b"mine", {"Content-Range": "0-3"})
    builder = V2(act_as_role(registry, "builder"))  # same registry, ecr:* allowed, another principal
    assert builder("POST", "/v2/team/app/blobs/uploads/").status == 202  # it may push, just not into my upload
    for method, body in (("GET", None), ("PATCH", b"theirs"), ("PUT", b""), ("DELETE", None)):
        url = f"{location}?digest={digest_of(b'mine')}" if method == "PUT" else location
        answer = builder(method, url, body)
        assert (answer.status, errors(answer)) == (404, ["BLOB_UPLOAD_UNKNOWN"]), method
    status = v2("GET", location)
    assert (status.status, status.headers["Range"]) == (204, "0-3")
    assert v2("PUT", f"{location}?digest={digest_of(b'mine')}").status == 201


def test_an_upload_belongs_to_the_registry_that_opened_it(registry, v2):
    location = _started(v2)
    europe = ecrlab.connect(region="eu-west-1")
    europe.client().create_repository(repositoryName="team/app")
    answer = V2(europe)("PATCH", location, b"bytes", {"Content-Range": "0-4"})
    assert (answer.status, errors(answer)) == (404, ["BLOB_UPLOAD_UNKNOWN"])
    assert v2("GET", location).headers["Range"] == "0-0"


def test_an_upload_idle_for_a_day_on_the_emulator_clock_is_removed(registry, v2):
    store = blobstore.shared_store()
    idle = _started(v2)
    busy = _started(v2)
    idle_file = store.root / "uploads" / idle.rsplit("/", 1)[1]
    assert idle_file.exists()
    registry.emulator.advance(hours=23)
    v2 = V2(registry)  # a token lasts 12 hours
    assert v2("PATCH", busy, b"still here", {"Content-Range": "0-9"}).status == 202
    registry.emulator.advance(hours=1, minutes=1)
    gone = v2("GET", idle)
    assert (gone.status, errors(gone)) == (404, ["BLOB_UPLOAD_UNKNOWN"])
    assert not idle_file.exists()
    kept = v2("GET", busy)  # its last bytes came 61 minutes ago
    assert (kept.status, kept.headers["Range"]) == (204, "0-9")


def test_an_abandoned_api_upload_is_unknown_afterwards(registry, v2):
    """InitiateLayerUpload's uploads expire the same way; UploadLayerPart then says UploadNotFoundException."""
    ecr = registry.client()
    upload_id = ecr.initiate_layer_upload(repositoryName="team/app")["uploadId"]
    registry.emulator.advance(hours=24, minutes=1)
    assert V2(registry)("GET", "/v2/").status == 200  # any /v2/ request sweeps
    with pytest.raises(ecr.exceptions.UploadNotFoundException):
        ecr.upload_layer_part(
            repositoryName="team/app", uploadId=upload_id, partFirstByte=0, partLastByte=2, layerPartBlob=b"abc"
        )


def test_uploads_left_on_disk_by_an_earlier_emulator_are_removed_at_start(tmp_path):
    (tmp_path / "uploads").mkdir()
    (tmp_path / "uploads" / "0b6c-left-over").write_bytes(b"half a layer")
    store = BlobStore(tmp_path)
    assert list((tmp_path / "uploads").iterdir()) == []
    upload = store.begin_upload()  # and the store works as before
    assert store.upload_size(upload) == 0
