"""Every /v2/ endpoint of the emulator: status codes, headers and error bodies per the distribution spec."""

from __future__ import annotations

import json

import pytest

from tests.oci import OCI_INDEX, OCI_MANIFEST, V2, digest_of, errors, image_manifest, index_manifest


@pytest.fixture
def v2(registry):
    registry.client().create_repository(repositoryName="team/app")
    return V2(registry)


def test_base_endpoint_announces_the_api_version(v2):
    response = v2("GET", "/v2/")
    assert response.status == 200
    assert response.headers["Docker-Distribution-API-Version"] == "registry/2.0"


def test_chunked_upload_with_location_range_and_uuid(v2):
    started = v2("POST", "/v2/team/app/blobs/uploads/")
    assert started.status == 202
    uuid = started.headers["Docker-Upload-UUID"]
    location = started.headers["Location"]
    assert location == f"/v2/team/app/blobs/uploads/{uuid}"
    assert started.headers["Range"] == "0-0"
    first = v2("PATCH", location, b"hello ", {"Content-Range": "0-5"})
    assert (first.status, first.headers["Range"]) == (202, "0-5")
    second = v2("PATCH", first.headers["Location"], b"world", {"Content-Range": "6-10"})
    assert second.headers["Range"] == "0-10"
    status = v2("GET", location)
    assert (status.status, status.headers["Range"]) == (204, "0-10")
    digest = digest_of(b"hello world")
    done = v2("PUT", f"{location}?digest={digest}")
    assert done.status == 201
    assert done.headers["Location"] == f"/v2/team/app/blobs/{digest}"
    assert done.headers["Docker-Content-Digest"] == digest
    blob = v2("GET", f"/v2/team/app/blobs/{digest}")
    assert (blob.status, blob.data) == (200, b"hello world")
    head = v2("HEAD", f"/v2/team/app/blobs/{digest}")
    assert (head.status, head.headers["Content-Length"], head.data) == (200, "11", b"")
    assert head.headers["Docker-Content-Digest"] == digest


def test_a_blob_serves_one_byte_range_so_downloads_resume(v2):
    digest = v2.upload("team/app", b"0123456789")
    path = f"/v2/team/app/blobs/{digest}"
    whole = v2("GET", path)
    assert (whole.status, whole.headers["Accept-Ranges"], whole.data) == (200, "bytes", b"0123456789")
    part = v2("GET", path, headers={"Range": "bytes=2-5"})
    assert (part.status, part.data, part.headers["Content-Range"]) == (206, b"2345", "bytes 2-5/10")
    assert part.headers["Content-Length"] == "4"
    assert v2("GET", path, headers={"Range": "bytes=7-"}).data == b"789"
    assert v2("GET", path, headers={"Range": "bytes=-3"}).data == b"789"
    beyond = v2("GET", path, headers={"Range": "bytes=20-30"})
    assert (beyond.status, beyond.headers["Content-Range"]) == (416, "bytes */10")
    # Several ranges at once are not served as multipart: the whole blob comes back, as HTTP allows.
    assert v2("GET", path, headers={"Range": "bytes=0-1,4-5"}).data == b"0123456789"


def test_out_of_order_chunk_is_416(v2):
    location = v2("POST", "/v2/team/app/blobs/uploads/").headers["Location"]
    v2("PATCH", location, b"abc", {"Content-Range": "0-2"})
    response = v2("PATCH", location, b"def", {"Content-Range": "5-7"})
    assert response.status == 416 and errors(response) == ["BLOB_UPLOAD_INVALID"]
    assert response.headers["Range"] == "0-2"


def test_monolithic_upload_in_one_post(v2):
    digest = digest_of(b"one shot")
    response = v2("POST", f"/v2/team/app/blobs/uploads/?digest={digest}", b"one shot")
    assert response.status == 201 and response.headers["Docker-Content-Digest"] == digest
    assert v2("GET", f"/v2/team/app/blobs/{digest}").data == b"one shot"


def test_wrong_digest_is_digest_invalid_and_the_upload_survives(v2):
    location = v2("POST", "/v2/team/app/blobs/uploads/").headers["Location"]
    v2("PATCH", location, b"content")
    wrong = v2("PUT", f"{location}?digest={digest_of(b'other')}")
    assert wrong.status == 400 and errors(wrong) == ["DIGEST_INVALID"]
    assert v2("PUT", f"{location}?digest={digest_of(b'content')}").status == 201


def test_unknown_and_cancelled_uploads(v2):
    response = v2("PATCH", "/v2/team/app/blobs/uploads/no-such-upload", b"x")
    assert response.status == 404 and errors(response) == ["BLOB_UPLOAD_UNKNOWN"]
    location = v2("POST", "/v2/team/app/blobs/uploads/").headers["Location"]
    assert v2("DELETE", location).status == 204
    assert errors(v2("PATCH", location, b"x")) == ["BLOB_UPLOAD_UNKNOWN"]


def test_an_upload_belongs_to_its_repository(v2, registry):
    registry.client().create_repository(repositoryName="other")
    location = v2("POST", "/v2/team/app/blobs/uploads/").headers["Location"]
    stolen = location.replace("/team/app/", "/other/")
    assert errors(v2("PATCH", stolen, b"x")) == ["BLOB_UPLOAD_UNKNOWN"]


def test_unknown_blob(v2):
    response = v2("GET", f"/v2/team/app/blobs/{digest_of(b'never pushed')}")
    assert response.status == 404 and errors(response) == ["BLOB_UNKNOWN"]
    assert v2("HEAD", f"/v2/team/app/blobs/{digest_of(b'never pushed')}").status == 404
    assert errors(v2("GET", "/v2/team/app/blobs/md5:abc")) == ["DIGEST_INVALID"]
    assert errors(v2("DELETE", f"/v2/team/app/blobs/{digest_of(b'x')}")) == ["UNSUPPORTED"]


def test_manifest_by_tag_and_digest(v2):
    manifest, digest = v2.push("team/app", "v1", [b"layer one"])
    for reference in ("v1", digest):
        response = v2("GET", f"/v2/team/app/manifests/{reference}", headers={"Accept": OCI_MANIFEST})
        assert response.status == 200
        assert response.data == manifest
        assert response.headers["Content-Type"] == OCI_MANIFEST
        assert response.headers["Docker-Content-Digest"] == digest
        head = v2("HEAD", f"/v2/team/app/manifests/{reference}")
        assert (head.status, head.data, head.headers["Docker-Content-Digest"]) == (200, b"", digest)


def test_manifest_put_answers_location_and_digest(v2):
    for blob in (b"{}", b"layer"):
        v2.upload("team/app", blob)
    manifest = image_manifest(b"{}", [b"layer"])
    response = v2.put_manifest("team/app", "v1", manifest)
    assert response.status == 201
    assert response.headers["Docker-Content-Digest"] == digest_of(manifest)
    assert response.headers["Location"] == f"/v2/team/app/manifests/{digest_of(manifest)}"
    assert v2.put_manifest("team/app", "v1", manifest).status == 201  # pushing the same image again is fine


def test_docker_schema2_manifest(v2):
    config, layer = b'{"architecture":"amd64","os":"linux"}', b"docker layer"
    for blob in (config, layer):
        v2.upload("team/app", blob)
    docker = json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
            "config": {
                "mediaType": "application/vnd.docker.container.image.v1+json",
                "digest": digest_of(config),
                "size": len(config),
            },
            "layers": [
                {
                    "mediaType": "application/vnd.docker.image.rootfs.diff.tar.gzip",
                    "digest": digest_of(layer),
                    "size": len(layer),
                }
            ],
        }
    ).encode()
    media_type = "application/vnd.docker.distribution.manifest.v2+json"
    assert v2.put_manifest("team/app", "docker", docker, media_type).status == 201
    assert v2("GET", "/v2/team/app/manifests/docker").headers["Content-Type"] == media_type


def test_index_needs_its_manifests_first(v2):
    amd, _ = v2.push("team/app", digest_of(image_manifest(b"{}", [b"amd64"])), [b"amd64"])
    arm = image_manifest(b"{}", [b"arm64"])
    index = index_manifest(amd, arm)
    missing = v2.put_manifest("team/app", "multi", index, OCI_INDEX)
    assert missing.status == 400 and errors(missing) == ["MANIFEST_BLOB_UNKNOWN"]
    v2.push("team/app", digest_of(arm), [b"arm64"])
    assert v2.put_manifest("team/app", "multi", index, OCI_INDEX).status == 201
    response = v2("GET", "/v2/team/app/manifests/multi")
    assert response.headers["Content-Type"] == OCI_INDEX and response.data == index


def test_manifest_errors(v2):
    unknown = v2("GET", "/v2/team/app/manifests/nope")
    assert unknown.status == 404 and errors(unknown) == ["MANIFEST_UNKNOWN"]
    body = json.loads(unknown.data)["errors"][0]
    assert set(body) == {"code", "message", "detail"}
    missing_layer = v2.put_manifest("team/app", "v1", image_manifest(b"{}", [b"not uploaded"]))
    assert missing_layer.status == 400 and errors(missing_layer) == ["MANIFEST_BLOB_UNKNOWN"]
    garbage = v2.put_manifest("team/app", "v1", b"not json")
    assert garbage.status == 400 and errors(garbage) == ["MANIFEST_INVALID"]
    schema1 = v2.put_manifest("team/app", "v1", b'{"schemaVersion": 1}', "application/json")
    assert errors(schema1) == ["MANIFEST_INVALID"]
    v2.upload("team/app", b"{}")
    manifest = image_manifest(b"{}", [])
    wrong_digest = v2.put_manifest("team/app", digest_of(b"something else"), manifest)
    assert wrong_digest.status == 400 and errors(wrong_digest) == ["DIGEST_INVALID"]
    bad_tag = v2.put_manifest("team/app", "-bad", manifest)
    assert bad_tag.status == 400 and errors(bad_tag) == ["TAG_INVALID"]
    mismatch = v2.put_manifest("team/app", "v1", manifest, OCI_INDEX)
    assert errors(mismatch) == ["MANIFEST_INVALID"]


def test_delete_manifest_by_digest_and_tag(v2):
    _, digest = v2.push("team/app", "v1", [b"to delete"])
    assert v2("DELETE", "/v2/team/app/manifests/v1").status == 202
    assert v2("GET", "/v2/team/app/manifests/v1").status == 404
    v2.push("team/app", "v2", [b"to delete"])
    assert v2("DELETE", f"/v2/team/app/manifests/{digest}").status == 202
    gone = v2("DELETE", f"/v2/team/app/manifests/{digest}")
    assert gone.status == 404 and errors(gone) == ["MANIFEST_UNKNOWN"]


def test_unknown_repository_is_name_unknown(v2):
    for method, path in [
        ("GET", "/v2/missing/manifests/v1"),
        ("GET", "/v2/missing/tags/list"),
        ("POST", "/v2/missing/blobs/uploads/"),
        ("HEAD", f"/v2/missing/blobs/{digest_of(b'x')}"),
    ]:
        response = v2(method, path)
        assert response.status == 404, (method, path)
        if method != "HEAD":
            assert errors(response) == ["NAME_UNKNOWN"]


def test_tags_list_pages_with_n_and_last(v2):
    for tag in ("c", "a", "b", "d"):
        v2.push("team/app", tag, [tag.encode()])
    everything = v2("GET", "/v2/team/app/tags/list")
    assert json.loads(everything.data) == {"name": "team/app", "tags": ["a", "b", "c", "d"]}
    assert "Link" not in everything.headers
    first = v2("GET", "/v2/team/app/tags/list?n=2")
    assert json.loads(first.data)["tags"] == ["a", "b"]
    assert first.headers["Link"] == '</v2/team/app/tags/list?n=2&last=b>; rel="next"'
    rest = v2("GET", "/v2/team/app/tags/list?n=2&last=b")
    assert json.loads(rest.data)["tags"] == ["c", "d"] and "Link" not in rest.headers
    assert json.loads(v2("GET", "/v2/team/app/tags/list?n=0").data)["tags"] == []


def test_cross_repository_mount_follows_blob_mounting(v2, registry):
    registry.client().create_repository(repositoryName="dest")
    digest = v2.upload("team/app", b"shared layer")
    mount = f"/v2/dest/blobs/uploads/?mount={digest}&from=team/app"
    # BLOB_MOUNTING is DISABLED on a new registry: the client is told to upload instead.
    assert v2("POST", mount).status == 202
    registry.client().put_account_setting(name="BLOB_MOUNTING", value="ENABLED")
    mounted = v2("POST", mount)
    assert mounted.status == 201
    assert mounted.headers["Location"] == f"/v2/dest/blobs/{digest}"
    assert v2("GET", f"/v2/dest/blobs/{digest}").data == b"shared layer"
    absent = v2("POST", f"/v2/dest/blobs/uploads/?mount={digest_of(b'nowhere')}&from=team/app")
    assert absent.status == 202
    assert v2("POST", f"/v2/dest/blobs/uploads/?mount={digest}&from=missing").status == 202


def test_unknown_endpoint(v2):
    response = v2("GET", "/v2/_catalog")
    assert response.status == 404
