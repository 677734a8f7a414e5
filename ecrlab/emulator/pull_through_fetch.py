"""A pull through a pull through cache rule: what happens before ECR serves a manifest over `/v2/`.

`/v2/` calls `pull_through` before reading a manifest. When a rule covers the repository (longest prefix wins):

- **miss** (the tag or digest is not cached): the puller needs `ecr:CreateRepository` when the repository does not
  exist (else `NAME_UNKNOWN`, as AWS documents) and `ecr:BatchImportUpstreamImage` (else `MANIFEST_UNKNOWN`
  "Requested image not found"). ECR fetches the manifest, then creates the repository from the PULL_THROUGH_CACHE
  creation template (or AWS's defaults) and stores the image: a multi-arch tag brings its index and every image it
  lists, a digest only that manifest. Its blobs are recorded as the repository's but fetched from the upstream
  when first read (`cached_layer`): the client gets a layer's bytes as they arrive while they fill the blob store,
  so a miss costs about one upstream pull, not two. Whether ECR streams a layer this way or answers once it has
  cached it is not documented (UNCONFIRMED [U39]); that it fetches layers on the layer request, with its own
  error, the model's `UnableToGetUpstreamLayerException` on GetDownloadUrlForLayer says.
- **hit**: the cache answers. A tag validated against the upstream more than 24 hours ago (emulator clock) is first
  re-checked: a moved tag is fetched and moved in the cache (unless tags are immutable); an upstream that cannot
  answer leaves the cached image served.

Every import attempt sends an `ECR Pull Through Cache Action` event. A failed miss answers with the upstream's
failure as ECR names it (`UpstreamTooManyRequests`, …); the `/v2/` status and code chosen for each are
UNCONFIRMED [U10], as is whether AWS leaves a repository behind when the first fetch fails (here none is created).
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator, Mapping
from datetime import timedelta
from functools import partial
from typing import Any

from ecrlab.emulator import blob_fills, events
from ecrlab.emulator.authorization import denial
from ecrlab.emulator.blobstore import is_digest
from ecrlab.emulator.clock import emulator_now
from ecrlab.emulator.distribution import TAG, ErrorResponse
from ecrlab.emulator.moto_compat import ECRBackend, Image, Repository, ServiceException, ecr_backends
from ecrlab.emulator.pull_through_cache_operations import (
    PullThroughCacheState,
    StoredRule,
    rule_for,
    unfetched,
    upstream_for,
)
from ecrlab.emulator.state import STATE_LOCK, state_of
from ecrlab.emulator.stored_images import blobs_of, find_image, refetch_with
from ecrlab.emulator.templates_operations import TemplateApplicationError, create_repository_from_template
from ecrlab.emulator.upstream_standins import own_address, own_url
from ecrlab.errors import RegistryError
from ecrlab.oci_transfer import Descriptor, RegistrySource, UpstreamError, image_tree
from ecrlab.pull_through_cache_rules import upstream_repository

RECHECK_AFTER = timedelta(hours=24)
# How a failed import reads on `/v2/` (status, OCI error code), by the model's ImageFailureCode (UNCONFIRMED [U10]).
FAILURES = {
    "UpstreamAccessDenied": (403, "DENIED"),
    "UpstreamTooManyRequests": (429, "TOOMANYREQUESTS"),
    "UpstreamUnavailable": (503, "UNAVAILABLE"),
    "ImageNotFound": (404, "MANIFEST_UNKNOWN"),
}
_LOCKS: dict[tuple[str, str, str], threading.Lock] = {}
_LOCKS_LOCK = threading.Lock()


def _lock(backend: ECRBackend, name: str) -> threading.Lock:
    """One fill at a time per repository, so ten concurrent pulls of a new image fetch it once."""
    with _LOCKS_LOCK:
        return _LOCKS.setdefault((backend.account_id, backend.region_name, name), threading.Lock())


def _store_manifests(
    source: RegistrySource, backend: ECRBackend, repository: Repository, root: Descriptor, reference: str
) -> None:
    """Store the image tree under `root` (children before their index) and record its blobs as the repository's,
    their bytes to be fetched from `source` when first read (`blob_fills`)."""

    for node in image_tree(source, root, reference):
        media_type = node.desc["mediaType"]
        with STATE_LOCK:
            for blob in blobs_of(node.doc, media_type):
                if blob["digest"] not in repository.layers:
                    repository.layers[blob["digest"]] = blob["size"]
                    _expect(backend, repository.name, source, blob)
        with STATE_LOCK:
            tag = None if node.reference.startswith("sha256:") else node.reference
            backend.put_image(repository.name, node.data.decode(), tag, media_type, node.desc["digest"])  # type: ignore[arg-type]  # moto types the tag str; None pushes untagged


def _event(
    backend: ECRBackend, rule: StoredRule, name: str, reference: str, digest: str | None, failure: UpstreamError | None
) -> None:
    """`ECR Pull Through Cache Action` (docs/fidelity.md S2); `rule-version` "1" and FAILED are UNCONFIRMED [U8]."""
    detail = {
        "rule-version": "1",
        "sync-status": "FAILED" if failure else "SUCCESS",
        "ecr-repository-prefix": rule.prefix,
        "repository-name": name,
        "upstream-registry-url": rule.upstream_url,
    }
    detail["image-digest" if reference.startswith("sha256:") else "image-tag"] = reference
    if digest:
        detail["image-digest"] = digest
    if failure:
        detail |= {"failure-code": failure.failure_code, "failure-reason": str(failure)}
    arn = f"arn:aws:ecr:{backend.region_name}:{backend.account_id}:repository/{name}"
    events.emit(backend.account_id, backend.region_name, "ECR Pull Through Cache Action", detail, [arn])


def _as_upstream(failure: BaseException) -> UpstreamError:
    """Anything that breaks a fill (a corrupt blob, an odd media type) reads as the upstream being unusable."""
    return failure if isinstance(failure, UpstreamError) else UpstreamError(str(failure), "UpstreamUnavailable")


def _failed(failure: UpstreamError) -> ErrorResponse:
    code = failure.failure_code
    status, oci_code = FAILURES[code]
    message = (
        "Requested image not found"
        if code == "ImageNotFound"
        else f"UnableToGetUpstreamImageException: {code}: {failure}"
    )
    return ErrorResponse(status, oci_code, message)


def pull_through(backend: ECRBackend, name: str, reference: str, principal: str, environ: Mapping[str, Any]) -> None:
    """Fill or refresh the cache before `name:reference` is read over `/v2/`; nothing when no rule covers it.

    `environ` is the request's: the emulator reaches its stand-in upstreams and ECR upstreams at its own address.
    """
    rule = rule_for(backend, name)
    if rule is None or not (is_digest(reference) or TAG.match(reference)):
        return  # a malformed reference is /v2/'s to refuse
    own = own_url(environ)
    with _lock(backend, name):
        repository = backend.repositories.get(name)
        checks = state_of(backend, PullThroughCacheState).checks
        image = _cached(repository, reference)
        if image is None:
            # A first pull by digest fills the cache too, as the user guide's "pulling by a per-arch digest caches
            # only that architecture" implies. UNCONFIRMED [U9]: aws/containers-roadmap#2837 (2026) reports that ECR
            # answers an uncached digest as missing and asks for exactly this behaviour.
            _import(backend, rule, name, reference, principal, own)
        elif (name, reference) in checks and emulator_now() - checks[(name, reference)] >= RECHECK_AFTER:
            _recheck(backend, rule, name, reference, image.get_image_digest(), own)


def _cached(repository: Repository | None, reference: str) -> Image | None:
    if repository is None:
        return None
    if reference.startswith("sha256:"):
        return find_image(repository, reference)
    return next((image for image in repository.images if reference in image.image_tags), None)


def _source(backend: ECRBackend, rule: StoredRule, name: str, own: str) -> RegistrySource:
    upstream = upstream_for(backend.account_id, backend.region_name, rule, own, name)
    return upstream.source(upstream_repository(rule.fields, name))


def _import(backend: ECRBackend, rule: StoredRule, name: str, reference: str, principal: str, own: str) -> None:
    account, region = backend.account_id, backend.region_name
    if name not in backend.repositories and denial(principal, account, region, "ecr:CreateRepository", name):
        raise ErrorResponse(
            404, "NAME_UNKNOWN", f"The repository with name '{name}' does not exist in the registry with id '{account}'"
        )
    if denial(principal, account, region, "ecr:BatchImportUpstreamImage", name):
        raise ErrorResponse(404, "MANIFEST_UNKNOWN", "Requested image not found")
    try:
        source = _source(backend, rule, name, own)
        root = source.root(reference)
        repository = backend.repositories.get(name) or _create(backend, name)
        _store_manifests(source, backend, repository, root, reference)
    except RegistryError as error:
        failure = _as_upstream(error)
        _event(backend, rule, name, reference, None, failure)
        raise _failed(failure) from None
    if not reference.startswith("sha256:"):
        state_of(backend, PullThroughCacheState).checks[(name, reference)] = emulator_now()
    _event(backend, rule, name, reference, root["digest"], None)


def _create(backend: ECRBackend, name: str) -> Repository:
    try:
        with STATE_LOCK:
            repository = create_repository_from_template(backend, name, "PULL_THROUGH_CACHE")
    except TemplateApplicationError:
        # The symptom AWS users report when the template cannot be applied (containers-roadmap#2398).
        raise ErrorResponse(
            404,
            "NAME_UNKNOWN",
            f"The repository with name '{name}' does not exist in the registry with id '{backend.account_id}'",
        ) from None
    assert repository is not None  # PULL_THROUGH_CACHE always creates, with AWS's defaults when no template applies
    return repository


def _recheck(backend: ECRBackend, rule: StoredRule, name: str, tag: str, cached: str, own: str) -> None:
    """Ask the upstream where `tag` points now; fetch it if it moved. Any failure keeps serving the cache."""
    try:
        source = _source(backend, rule, name, own)
        current = source.registry.manifest_digest(source.repository, tag)
        if current != cached:
            root = source.root(tag)
            _store_manifests(source, backend, backend.repositories[name], root, tag)
            _event(backend, rule, name, tag, root["digest"], None)
    except RegistryError as error:
        _event(backend, rule, name, tag, None, _as_upstream(error))
        return
    except ServiceException:  # an immutable tag: ECR stops updating it and goes on serving what it cached
        pass
    state_of(backend, PullThroughCacheState).checks[(name, tag)] = emulator_now()


def _expect(backend: ECRBackend, name: str, source: RegistrySource, blob: Descriptor) -> None:
    """Blob `blob` of cache repository `name` is to be fetched from `source` when first read."""
    unfetched = state_of(backend, PullThroughCacheState).unfetched
    unfetched.add((name, blob["digest"]))
    blob_fills.expect(
        blob["digest"], blob["size"], partial(source.blob, blob), partial(unfetched.discard, (name, blob["digest"]))
    )


def _expect_through_rule(backend: ECRBackend, name: str, blob: Descriptor, own: str) -> None:
    """Expect `blob` of cache repository `name` again, through the rule that covers the repository now: a restart
    forgot where it comes from. Raises LookupError when no rule covers it, UpstreamError when its upstream is out of
    reach."""
    rule = rule_for(backend, name)
    if rule is None:
        raise LookupError(name)
    _expect(backend, name, _source(backend, rule, name, own), blob)


@refetch_with
def _expect_again(repository: Repository, blob: Descriptor) -> None:
    """`_expect_through_rule` for work no request carries (a replication or scan queued before the restart), at
    the address this emulator serves; a layer it cannot expect stays missing, for that work to record."""
    own = own_address()
    backend = ecr_backends[repository.account_id][repository.region_name]
    if own is not None and unfetched(backend, repository.name, blob["digest"]):
        with contextlib.suppress(LookupError, UpstreamError):
            _expect_through_rule(backend, repository.name, blob, own)


def cached_layer(
    backend: ECRBackend, name: str, digest: str, size: int, span: tuple[int, int], environ: Mapping[str, Any]
) -> Iterator[bytes]:
    """Bytes `span` of a blob the cache repository `name` lists but has not fetched: streamed from the upstream
    as they arrive while the cache fills (UNCONFIRMED [U39]). A blob recorded before a restart is fetched through
    the rule that covers the repository now, as the model's `UnableToGetUpstreamLayerException` ("the upstream
    layer matching the pull through cache rule") reads.
    """
    unknown = ErrorResponse(404, "BLOB_UNKNOWN", f"blob {digest} is not in repository {name}")
    if not blob_fills.is_expected(digest):
        try:
            _expect_through_rule(backend, name, {"digest": digest, "size": size}, own_url(environ))
        except LookupError:
            raise unknown from None
        except UpstreamError as refused:
            raise _failed(refused) from None
    try:
        chunks = blob_fills.read(digest, *span, refill=True)
        first = next(chunks, b"")  # a fill that fails before its first bytes answers with an error status
    except LookupError:
        raise unknown from None
    except blob_fills.FillFailed as failed:
        failure = _as_upstream(failed.cause)
        raise (unknown if failure.failure_code == "ImageNotFound" else _failed(failure)) from None
    return _broken_off_as_dropped(first, chunks)


def _broken_off_as_dropped(first: bytes, chunks: Iterator[bytes]) -> Iterator[bytes]:
    """A fill that fails mid-stream ends the response as a dropped connection does: the client gets it short."""
    yield first
    try:
        yield from chunks
    except blob_fills.FillFailed as failed:
        raise ConnectionAbortedError(f"the upstream blob broke off: {failed}") from None
