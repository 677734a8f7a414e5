"""`ecrlab emulator serve --data-dir`: what the server acknowledged survives a restart and a `kill -9`.

Expectations come from the client's side: digests are computed here from the bytes pushed, settings are the
values the test wrote and saw acknowledged; the server's files are only read to check no blob is partial.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import pickle
import signal
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from botocore.config import Config

import ecrlab
from ecrlab.emulator import persistence
from ecrlab.registry import Registry
from tests.conftest import BIN
from tests.oci import V2, digest_of

FROZEN = "2025-06-02T09:00:00+00:00"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"


def serve(data_dir: Path, *extra: str) -> tuple[subprocess.Popen[str], str]:
    proc = subprocess.Popen(
        [str(BIN / "ecrlab"), "emulator", "serve", "--port", "0", "--data-dir", str(data_dir), *extra],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    assert proc.stdout is not None
    return proc, proc.stdout.readline().strip()


def kill_9(proc: subprocess.Popen[str]) -> None:
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=10)


def stop(proc: subprocess.Popen[str]) -> None:
    if proc.poll() is None:
        proc.terminate()
        proc.wait(timeout=10)


@contextlib.contextmanager
def serving(data_dir: Path, *extra: str) -> Iterator[Registry]:
    """A registry on `ecrlab emulator serve --data-dir data_dir`, stopped (its state kept) on leaving."""
    proc, url = serve(data_dir, *extra)
    try:
        yield ecrlab.connect(endpoint_url=url)
    finally:
        stop(proc)


def no_retries(registry: Registry, service: str = "ecr", region: str | None = None):
    """A client that fails at once when the server is gone (the default retries for a while)."""
    config = Config(retries={"total_max_attempts": 1}, connect_timeout=2, read_timeout=10)
    return registry.session.client(
        service, region_name=region or registry.region, endpoint_url=registry.endpoint_url, config=config
    )


def lifecycle_text(count: int) -> str:
    rule = {"tagStatus": "untagged", "countType": "imageCountMoreThan", "countNumber": count}
    return json.dumps({"rules": [{"rulePriority": 1, "selection": rule, "action": {"type": "expire"}}]})


def repository_policy(sid: str) -> str:
    statement = {"Sid": sid, "Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::123456789012:root"}}
    return json.dumps({"Version": "2012-10-17", "Statement": [{**statement, "Action": ["ecr:BatchGetImage"]}]})


def journaled_pushes(data_dir: Path) -> int:
    """Pushes the server kept in its journal since its last snapshot (so the kill tests the journal's replay)."""
    try:
        return sum(
            pickle.loads(record)["kind"] == persistence.PUSH
            for journal in data_dir.glob("journal-*.log")
            for record in persistence.Journal.read(journal)
        )
    except (FileNotFoundError, pickle.UnpicklingError, EOFError):
        return 0  # the journal was replaced while being read


def pulled_digest(v2: V2, repository: str, tag: str) -> tuple[str, dict]:
    response = v2("GET", f"/v2/{repository}/manifests/{tag}", headers={"Accept": OCI_MANIFEST})
    assert response.status == 200, (repository, tag, response.data)
    return digest_of(response.data), json.loads(response.data)


@pytest.mark.slow
def test_kill_9_during_a_burst_of_pushes_and_policy_writes_loses_nothing_acknowledged(tmp_path):
    proc, url = serve(tmp_path)
    try:
        registry = ecrlab.connect(endpoint_url=url)
        for name in ("burst-a", "burst-b"):
            registry.client().create_repository(repositoryName=name)
        pushed: list[tuple[str, str, str]] = []  # (repository, tag, manifest digest) acknowledged
        settings: dict[str, list[str]] = {"lifecycle": [], "policy": []}  # values acknowledged, in order
        in_flight: dict[str, str] = {}

        def push(repository: str) -> None:
            v2 = V2(registry)
            for i in range(10_000):
                try:
                    _, digest = v2.push(repository, f"t{i}", [os.urandom(256)], config=json.dumps({"i": i}).encode())
                except Exception:  # the server is gone: this push was never acknowledged
                    return
                pushed.append((repository, f"t{i}", digest))

        def write_settings() -> None:
            ecr = no_retries(registry)
            for j in range(10_000):
                try:
                    in_flight["lifecycle"] = lifecycle_text(j + 1)
                    ecr.put_lifecycle_policy(repositoryName="burst-a", lifecyclePolicyText=in_flight["lifecycle"])
                    settings["lifecycle"].append(in_flight["lifecycle"])
                    in_flight["policy"] = repository_policy(f"Pull{j}")
                    ecr.set_repository_policy(repositoryName="burst-b", policyText=in_flight["policy"])
                    settings["policy"].append(in_flight["policy"])
                except Exception:
                    return
                time.sleep(0.1)  # pushes in between: a policy write snapshots everything, pushes are journaled

        workers = [threading.Thread(target=push, args=(name,)) for name in ("burst-a", "burst-b")]
        workers.append(threading.Thread(target=write_settings))
        for worker in workers:
            worker.start()
        deadline = time.monotonic() + 60
        while (len(pushed) < 40 or len(settings["policy"]) < 5 or journaled_pushes(tmp_path) < 3) and (
            time.monotonic() < deadline
        ):
            time.sleep(0.01)
        kill_9(proc)  # mid-burst, with pushes kept by the journal alone: every worker has a request in flight
        for worker in workers:
            worker.join(timeout=30)
        assert len(pushed) >= 40 and len(settings["policy"]) >= 5
    finally:
        stop(proc)

    proc, url = serve(tmp_path)
    try:
        registry = ecrlab.connect(endpoint_url=url)
        v2 = V2(registry)
        for repository, tag, digest in pushed:
            got, manifest = pulled_digest(v2, repository, tag)
            assert got == digest
            for blob in (manifest["config"], *manifest["layers"]):
                data = v2("GET", f"/v2/{repository}/blobs/{blob['digest']}").data
                assert digest_of(data) == blob["digest"] and len(data) == blob["size"]
        ecr = registry.client()
        lifecycle = ecr.get_lifecycle_policy(repositoryName="burst-a")["lifecyclePolicyText"]
        policy = ecr.get_repository_policy(repositoryName="burst-b")["policyText"]
        # The last acknowledged value, or the one in flight at the kill if the server kept it without answering.
        assert json.loads(lifecycle) in [json.loads(settings["lifecycle"][-1]), json.loads(in_flight["lifecycle"])]
        assert json.loads(policy) in [json.loads(settings["policy"][-1]), json.loads(in_flight["policy"])]
    finally:
        stop(proc)
    for blob in (tmp_path / "blobs" / "sha256").iterdir():  # no partial blob under any name
        assert hashlib.sha256(blob.read_bytes()).hexdigest() == blob.name


@pytest.mark.slow
def test_every_service_and_pending_replication_survive_kill_9(tmp_path):
    proc, url = serve(tmp_path, "--frozen-clock", FROZEN)
    try:
        registry = ecrlab.connect(endpoint_url=url)
        ecr = registry.client()
        moved = registry.emulator.advance(hours=3)
        registry.client("iam").create_role(RoleName="builder", AssumeRolePolicyDocument="{}")
        secret = registry.client("secretsmanager").create_secret(Name="ecr-pullthroughcache/hub", SecretString="t")
        queue = registry.client("sqs").create_queue(QueueName="events")["QueueUrl"]
        registry.client("sqs").send_message(QueueUrl=queue, MessageBody="kept")
        topic = registry.client("sns").create_topic(Name="alerts")["TopicArn"]
        registry.client("events").put_rule(Name="pushes", EventPattern=json.dumps({"source": ["aws.ecr"]}))
        other = registry.assume_role("arn:aws:iam::111111111111:role/admin")
        other.client().create_repository(repositoryName="elsewhere")
        registry.in_region("eu-west-1").client().create_repository(repositoryName="european")
        ecr.put_registry_scanning_configuration(scanType="ENHANCED", rules=[])
        ecr.put_replication_configuration(
            replicationConfiguration={
                "rules": [{"destinations": [{"region": "us-west-2", "registryId": registry.account_id}]}]
            }
        )
        ecr.create_repository_creation_template(
            prefix="auto", appliedFor=["CREATE_ON_PUSH"], imageTagMutability="IMMUTABLE"
        )
        ecr.create_repository(repositoryName="app")
        v2 = V2(registry)
        _, created = v2.push("auto/made", "v1", [b"a push that creates its repository"])
        _, digest = v2.push("app", "v1", [b"replicate me"])  # the last write: kept by the journal alone
        status = ecr.describe_image_replication_status(repositoryName="app", imageId={"imageTag": "v1"})
        assert status["replicationStatuses"][0]["status"] == "IN_PROGRESS"  # frozen clock: it waits
        kill_9(proc)
    finally:
        stop(proc)

    proc, url = serve(tmp_path)
    try:
        registry = ecrlab.connect(endpoint_url=url)
        ecr = registry.client()
        assert registry.emulator.now() == moved  # the clock lessons moved stays moved
        assert registry.client("iam").get_role(RoleName="builder")["Role"]["RoleName"] == "builder"
        assert registry.client("secretsmanager").describe_secret(SecretId=secret["ARN"])["ARN"] == secret["ARN"]
        message = registry.client("sqs").receive_message(QueueUrl=queue)["Messages"][0]
        assert message["Body"] == "kept"
        assert topic in [t["TopicArn"] for t in registry.client("sns").list_topics()["Topics"]]
        assert registry.client("events").describe_rule(Name="pushes")["Name"] == "pushes"
        other = registry.assume_role("arn:aws:iam::111111111111:role/admin")
        assert [r["repositoryName"] for r in other.client().describe_repositories()["repositories"]] == ["elsewhere"]
        european = registry.in_region("eu-west-1").client().describe_repositories()["repositories"]
        assert [r["repositoryName"] for r in european] == ["european"]
        assert ecr.get_registry_scanning_configuration()["scanningConfiguration"]["scanType"] == "ENHANCED"
        got, _ = pulled_digest(V2(registry), "app", "v1")
        assert got == digest
        assert pulled_digest(V2(registry), "auto/made", "v1")[0] == created
        made = ecr.describe_repositories(repositoryNames=["auto/made"])["repositories"][0]
        assert made["imageTagMutability"] == "IMMUTABLE"  # created from the template before the crash
        status = ecr.describe_image_replication_status(repositoryName="app", imageId={"imageTag": "v1"})
        assert status["replicationStatuses"][0]["status"] == "IN_PROGRESS"
        assert registry.emulator.settle() >= 1  # the pending replication resumed from disk
        status = ecr.describe_image_replication_status(repositoryName="app", imageId={"imageTag": "v1"})
        assert status["replicationStatuses"][0]["status"] == "COMPLETE"
        west = registry.in_region("us-west-2").client().describe_images(repositoryName="app")["imageDetails"]
        assert [image["imageDigest"] for image in west] == [digest]
    finally:
        stop(proc)


def test_an_upload_cut_by_a_crash_leaves_no_blob(tmp_path):
    proc, url = serve(tmp_path)
    data = b"x" * 100_000
    try:
        registry = ecrlab.connect(endpoint_url=url)
        registry.client().create_repository(repositoryName="app")
        v2 = V2(registry)
        started = v2("POST", "/v2/app/blobs/uploads/")
        assert v2("PATCH", started.headers["Location"], body=data[:50_000]).status == 202
        kill_9(proc)
    finally:
        stop(proc)
    proc, url = serve(tmp_path)
    try:
        v2 = V2(ecrlab.connect(endpoint_url=url))
        assert v2("HEAD", f"/v2/app/blobs/{digest_of(data)}").status == 404
        assert list((tmp_path / "uploads").iterdir()) == []
    finally:
        stop(proc)


def test_a_torn_journal_record_is_dropped(tmp_path):
    journal = persistence.Journal(tmp_path / "journal-1.log", durable=False)
    journal.append(b"first")
    journal.append(b"second")
    journal.close()
    with (tmp_path / "journal-1.log").open("ab") as out:
        out.write(b"\x00\x00\x00\x09\x00\x00")  # a crash cut the third record's frame short
    assert list(persistence.Journal.read(tmp_path / "journal-1.log")) == [b"first", b"second"]


@pytest.mark.parametrize(
    ("method", "path", "query", "target", "expected"),
    [
        ("GET", "/v2/app/manifests/v1", "", "", persistence.READ),
        ("PUT", "/v2/app/manifests/v1", "", "", persistence.PUSH),
        ("DELETE", "/v2/app/manifests/v1", "", "", persistence.CHANGE),
        ("POST", "/v2/app/blobs/uploads/", "", "", persistence.TRANSIENT),
        ("PATCH", "/v2/app/blobs/uploads/u", "", "", persistence.TRANSIENT),
        ("PUT", "/v2/app/blobs/uploads/u", "digest=sha256:00", "", persistence.LINK),
        ("POST", "/v2/app/blobs/uploads/", "mount=sha256:00&from=b", "", persistence.LINK),
        ("POST", "/", "", "AmazonEC2ContainerRegistry_V20150921.DescribeImages", persistence.READ),
        ("POST", "/", "", "AmazonEC2ContainerRegistry_V20150921.PutLifecyclePolicy", persistence.CHANGE),
        ("POST", "/", "", "AmazonEC2ContainerRegistry_V20150921.UploadLayerPart", persistence.TRANSIENT),
        ("POST", "/", "", "AmazonEC2ContainerRegistry_V20150921.CompleteLayerUpload", persistence.CHANGE),
        ("POST", "/", "Action=AssumeRole", "", persistence.CHANGE),
        ("POST", "/", "Action=GetCallerIdentity", "", persistence.READ),
        ("POST", "/_ecrlab/clock", "", "", persistence.CHANGE),
        ("POST", "/_ecrlab/status", "", "", persistence.READ),
    ],
)
def test_requests_are_kept_by_what_they_change(method, path, query, target, expected):
    environ = {"REQUEST_METHOD": method, "PATH_INFO": path, "QUERY_STRING": query}
    if target:
        environ["HTTP_X_AMZ_TARGET"] = target
    assert persistence.classify(environ) == expected


@pytest.mark.slow
def test_fsync_mode_keeps_pushes_and_settings_too(tmp_path):
    proc, url = serve(tmp_path, "--fsync")
    try:
        registry = ecrlab.connect(endpoint_url=url)
        registry.client().create_repository(repositoryName="app")
        _, digest = V2(registry).push("app", "v1", [b"flushed to the disk"])
        registry.client().put_image_tag_mutability(repositoryName="app", imageTagMutability="IMMUTABLE")
        _, second = V2(registry).push("app", "v2", [b"journaled and flushed"])
        kill_9(proc)
    finally:
        stop(proc)
    proc, url = serve(tmp_path)
    try:
        registry = ecrlab.connect(endpoint_url=url)
        v2 = V2(registry)
        assert [pulled_digest(v2, "app", tag)[0] for tag in ("v1", "v2")] == [digest, second]
        described = registry.client().describe_repositories(repositoryNames=["app"])["repositories"][0]
        assert described["imageTagMutability"] == "IMMUTABLE"
    finally:
        stop(proc)


@pytest.mark.slow
def test_a_pull_that_fills_the_pull_through_cache_is_kept(tmp_path):
    proc, url = serve(tmp_path)
    try:
        registry = ecrlab.connect(endpoint_url=url)
        registry.client().create_pull_through_cache_rule(
            ecrRepositoryPrefix="docker",
            upstreamRegistryUrl="public.ecr.aws",
            upstreamRepositoryPrefix="docker/library",
        )
        pulled = V2(registry)("GET", "/v2/docker/alpine/manifests/3.19", headers={"Accept": "*/*"})
        assert pulled.status == 200  # a read that created a repository and an image
        kill_9(proc)
    finally:
        stop(proc)
    proc, url = serve(tmp_path)
    try:
        images = ecrlab.connect(endpoint_url=url).client().describe_images(repositoryName="docker/alpine")
        cached = [image["imageDigest"] for image in images["imageDetails"] if "3.19" in image.get("imageTags", [])]
        assert cached == [digest_of(pulled.data)]
    finally:
        stop(proc)


ACCEPT_ANY = ", ".join(
    [
        "application/vnd.oci.image.index.v1+json",
        OCI_MANIFEST,
        "application/vnd.docker.distribution.manifest.list.v2+json",
        "application/vnd.docker.distribution.manifest.v2+json",
    ]
)


def blobs_pulled(v2: V2, repository: str, reference: str) -> dict[str, bytes]:
    """Every blob of the image tree at `repository:reference` (an index's images too), read over /v2/ as a client
    pulls it, by its digest; a manifest or blob that does not answer 200 fails here."""
    response = v2("GET", f"/v2/{repository}/manifests/{reference}", headers={"Accept": ACCEPT_ANY})
    assert response.status == 200, (repository, reference, response.data)
    manifest = json.loads(response.data)
    pulled: dict[str, bytes] = {}
    for child in manifest.get("manifests", []):
        pulled |= blobs_pulled(v2, repository, child["digest"])
    for blob in (manifest["config"], *manifest["layers"]) if "config" in manifest else ():
        got = v2("GET", f"/v2/{repository}/blobs/{blob['digest']}")
        assert got.status == 200, (repository, blob["digest"], got.data)
        pulled[blob["digest"]] = got.data
    return pulled


def cached(registry: Registry, repository: str, tag: str) -> bool:
    """Pull `repository:tag`'s manifest (only) over /v2/: a pull through cache stores it, its layers not yet."""
    return V2(registry)("GET", f"/v2/{repository}/manifests/{tag}", headers={"Accept": ACCEPT_ANY}).status == 200


def with_docker_cache(registry: Registry) -> Any:
    """`registry`'s ECR client, once a pull through cache rule takes docker/* from public.ecr.aws (the stand-in)."""
    ecr = registry.client()
    ecr.create_pull_through_cache_rule(
        ecrRepositoryPrefix="docker", upstreamRegistryUrl="public.ecr.aws", upstreamRepositoryPrefix="docker/library"
    )
    return ecr


def test_a_replica_of_a_cached_image_keeps_every_layer_across_a_restart(tmp_path):
    """A cached image whose layers nobody pulled yet, replicated on push (node, to us-west-2) and by a backfill (the
    alpine index and its images, to eu-west-1): the replicas hold every byte, as replication copies the layers, so
    after a restart (which forgets where unfetched layers come from) each replica's blobs still answer with bytes
    that hash to their digests (OCI distribution spec), though the replica repositories have no cache rule."""
    proc, url = serve(tmp_path, "--frozen-clock", FROZEN)
    try:
        registry = ecrlab.connect(endpoint_url=url)
        ecr = with_docker_cache(registry)
        v2 = V2(registry)
        pulled = v2("GET", "/v2/docker/alpine/manifests/3.19", headers={"Accept": ACCEPT_ANY})
        assert pulled.status == 200  # cached before replication was configured: a backfill copies it
        prefix = {"filterType": "PREFIX_MATCH"}
        rules = [
            {"destinations": [{"region": region, "registryId": registry.account_id}], "repositoryFilters": [filter_]}
            for region, filter_ in (
                ("us-west-2", {"filter": "docker/node", **prefix}),
                ("eu-west-1", {"filter": "docker/alpine", **prefix}),
            )
        ]
        ecr.put_replication_configuration(replicationConfiguration={"rules": rules})
        assert v2("GET", "/v2/docker/node/manifests/18-alpine", headers={"Accept": ACCEPT_ANY}).status == 200
        ecr.start_replication_backfill(destination={"region": "eu-west-1", "registryId": registry.account_id})
        assert registry.emulator.settle() >= 1
    finally:
        stop(proc)

    proc, url = serve(tmp_path)
    try:
        registry = ecrlab.connect(endpoint_url=url)
        for region, repository, tag in (
            ("us-west-2", "docker/node", "18-alpine"),
            ("eu-west-1", "docker/alpine", "3.19"),
        ):
            replica = blobs_pulled(V2(registry.in_region(region)), repository, tag)
            assert len(replica) >= 2  # a config and a layer at least
            for digest, data in replica.items():
                assert digest_of(data) == digest, (region, repository, digest)
    finally:
        stop(proc)


def test_a_replication_pending_at_a_restart_still_copies_a_cached_images_layers(tmp_path):
    """A cached image whose layers nobody pulled yet, replicated on caching: the server stops before the replication
    ran (the frozen clock holds it IN_PROGRESS) and forgets where those layers come from. After the restart the
    replication still completes with every byte, fetched again through the cache rule as a pull would: the
    replica's blobs answer with bytes that hash to their digests (OCI distribution spec)."""
    with serving(tmp_path, "--frozen-clock", FROZEN) as registry:
        ecr = with_docker_cache(registry)
        destination = {"region": "us-west-2", "registryId": registry.account_id}
        docker = {"filter": "docker", "filterType": "PREFIX_MATCH"}
        rule = {"destinations": [destination], "repositoryFilters": [docker]}
        ecr.put_replication_configuration(replicationConfiguration={"rules": [rule]})
        assert cached(registry, "docker/node", "18-alpine")
    with serving(tmp_path) as registry:
        assert registry.emulator.settle() >= 1  # the replication queued before the restart
        replica = blobs_pulled(V2(registry.in_region("us-west-2")), "docker/node", "18-alpine")
        assert len(replica) >= 2  # a config and a layer at least
        for digest, data in replica.items():
            assert digest_of(data) == digest, digest


def test_a_scan_pending_at_a_restart_still_reads_a_cached_images_layers(tmp_path):
    """A scan of a cached image whose layers nobody pulled yet, queued before a restart: it reads the layers after
    it, fetched again through the cache rule, and finds what the shipped feed says of the image's packages."""
    with serving(tmp_path, "--frozen-clock", FROZEN) as registry:
        ecr = with_docker_cache(registry)
        assert cached(registry, "docker/node", "18-alpine")
        image = {"imageTag": "18-alpine"}
        ecr.start_image_scan(repositoryName="docker/node", imageId=image)
    with serving(tmp_path) as registry:
        assert registry.emulator.settle() >= 1  # the scan queued before the restart
        scan = registry.client().describe_image_scan_findings(repositoryName="docker/node", imageId=image)
        assert scan["imageScanStatus"]["status"] == "COMPLETE", scan["imageScanStatus"]
        found = {finding["name"] for finding in scan["imageScanFindings"]["findings"]}
        # The shipped feed's advisories for the openssl and busybox of the sample image (data/vulndb/README.md).
        assert {"CVE-2024-5535", "CVE-2023-42363"} <= found, found
