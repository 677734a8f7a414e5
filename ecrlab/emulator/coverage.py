"""The fidelity table: every operation of botocore's ECR model and how the emulator answers it.

Statuses are derived from the code (moto's response class before and after ecrlab's extensions are
installed), never typed by hand, so the table and the emulator cannot disagree.
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass

from ecrlab.ecr_model import ecr_model
from ecrlab.emulator.extension import EXTENSIONS, NATIVE_METHODS, install
from ecrlab.emulator.moto_compat import ECRResponse, camelcase_to_underscores
from ecrlab.emulator.sources import OPERATION_SOURCES
from ecrlab.emulator.sources import markdown as sources_markdown

NATIVE = "moto native"
HOOKED = "moto native + ecrlab hook"
OVERRIDDEN = "ecrlab override"
EXTENDED = "ecrlab extension"
MISSING = "not emulated"

# Why an operation is not emulated yet; anything unlisted is outside what the lessons use. (All 62 are emulated.)
PLANNED: dict[str, str] = {}

# Where the behaviour of the operations added for ECR's 2025-26 features comes from (the pages in SOURCE_PAGES).
SOURCES = {
    "PutSigningConfiguration": "API reference; user guide, Managed signing",
    "GetSigningConfiguration": "API reference; user guide, Managed signing",
    "DeleteSigningConfiguration": "API reference; user guide, Managed signing",
    "DescribeImageSigningStatus": "API reference; user guide, Managed signing",
    "ListImageReferrers": "API reference; OCI image-spec 1.1 subject and artifactType",
    "RegisterPullTimeUpdateExclusion": "API reference; user guide, Pull-time update exclusions",
    "DeregisterPullTimeUpdateExclusion": "API reference; user guide, Pull-time update exclusions",
    "ListPullTimeUpdateExclusions": "API reference; user guide, Pull-time update exclusions",
    "UpdateImageStorageClass": "API reference; user guide, Archiving an image",
}

# The pages the notes above name, so a reader can check each claim (and each UNCONFIRMED gap) at its source.
SOURCE_PAGES = {
    "API reference": "https://docs.aws.amazon.com/AmazonECR/latest/APIReference/Welcome.html",
    "user guide, Managed signing": "https://docs.aws.amazon.com/AmazonECR/latest/userguide/managed-signing.html",
    "user guide, Sign images": "https://docs.aws.amazon.com/AmazonECR/latest/userguide/image-signing.html",
    "user guide, Archiving an image": "https://docs.aws.amazon.com/AmazonECR/latest/userguide/archive-image.html",
    "user guide, Pull-time update exclusions": (
        "https://docs.aws.amazon.com/AmazonECR/latest/userguide/pull-time-update-exclusions.html"
    ),
    "user guide, Blob mounting in Amazon ECR": (
        "https://docs.aws.amazon.com/AmazonECR/latest/userguide/blob-mounting.html"
    ),
    "OCI image-spec 1.1 (subject, artifactType)": (
        "https://github.com/opencontainers/image-spec/blob/v1.1.0/manifest.md"
    ),
    "OCI distribution-spec 1.1 (referrers API)": (
        "https://github.com/opencontainers/distribution-spec/blob/v1.1.0/spec.md#listing-referrers"
    ),
}

# Known departures of moto-native operations from AWS, until a feature replaces them.
DEPARTURES: dict[str, str] = {}


# Behaviour that spans operations, where the emulator knowingly differs from AWS or follows an UNCONFIRMED reading
# (the ids name entries of `sources.UNCONFIRMED`).
CROSS_CUTTING = (
    "Authorization: demo keys, and sessions of roles IAM does not hold, act as the account root (moto lets any "
    "role be assumed; AWS refuses a missing role). IAM users and existing roles are decided by "
    "ecrlab.permissions.simulate: no SCPs, permission boundaries, session policies or VPC endpoint policies.",
    "A registry-policy Deny overrides identity Allows under V2 (U1); across accounts, an Allow in either the "
    "registry or the repository policy counts as the resource side (U2).",
    "Repositories ECR creates on a caller's behalf (ecrlab.emulator.on_behalf) need the caller's "
    "ecr:CreateRepository, decided from identity, registry and repository policies like any request: a pull "
    "through cache miss checks the puller's ecr:CreateRepository (missing repository, else 404 NAME_UNKNOWN) and "
    "ecr:BatchImportUpstreamImage (else 404 MANIFEST_UNKNOWN), as documented (pull-through-cache-iam.html, "
    "error-pullthroughcache.html); whether AWS also evaluates the registry policy for the service-linked role "
    "AWSServiceRoleForECRPullThroughCache that creates the repository is UNCONFIRMED and not modelled. Create on "
    "push checks the pusher's ecr:CreateRepository and refuses with 403 DENIED over /v2/ or "
    "AccessDeniedException from PutImage (UNCONFIRMED: AWS documents only the CREATE_ON_PUSH template as the "
    "switch; a user reports a cross-account pusher creating empty repositories, aws/containers-roadmap#853, which "
    "the emulator does not allow). Replication into a registry checks the source account's root against the "
    "destination's policies (replication.html); which principal AWS evaluates for the source (its root or its "
    "replication service-linked role) is UNCONFIRMED. The emulator never denies the account root (demo keys), "
    "while ecrlab.permissions.simulate and the lockout check apply a registry-policy Deny to the root user as to "
    "any principal (whether AWS lets the root user still change the registry policy, as S3 does for bucket "
    "policies, is UNCONFIRMED).",
    "BLOB_MOUNTING (user guide, Blob mounting in Amazon ECR): a mount needs the setting ENABLED, the mount "
    "parameters on the POST, the same registry, the same encryption type and key, ecr:GetDownloadUrlForLayer on the "
    "source, and no pull through cache repository on either side (that the target counts too is UNCONFIRMED); "
    "otherwise the push uploads (202). The default for a new registry, DISABLED, is UNCONFIRMED (U7).",
    "Managed signing (user guide, Managed signing): a push to a repository a rule matches is IN_PROGRESS, then 10 s "
    "later on the emulator clock (or on settle()) COMPLETE with a signature artifact (artifactType "
    "application/vnd.cncf.notary.signature, subject = the image) pushed to the same repository; one per matching "
    "profile; referrers are not signed; the pusher signs and needs signer:SignPayload on the profile (decided from its "
    "identity policies; Signer profile policies are not modelled), else FAILED with failureCode AccessDenied "
    "(UNCONFIRMED code). Departure: the emulator has no AWS Signer, so the envelope is a JSON record (subject, "
    "profile, signer, time), not a verifiable signature. UNCONFIRMED: the 10 s, the envelope media type "
    "(application/jose+json) and annotations, that an index and each of its manifests are signed, that a new tag on a "
    "signed image is not signed again, and that a profile in another region is refused by PutSigningConfiguration "
    "(AWS: cross-region signing is not supported).",
    "Referrers (OCI image-spec and distribution-spec 1.1): a manifest with `subject` is listed by ListImageReferrers "
    "and by GET /v2/<name>/referrers/<digest> (artifactType filter, OCI-Filters-Applied), and its push answers "
    "OCI-Subject; a referrer's size is its manifest's bytes; the subject need not exist (an unknown subject lists "
    "nothing, UNCONFIRMED). Referrers of a deleted subject are deleted 24 hours later on the emulator clock (or on "
    "settle()) unless the subject is pushed again (user guide: within 24 hours).",
    "Archive (user guide, Archiving an image): ARCHIVE is at once; a restore is ACTIVATING for 20 minutes on the "
    "emulator clock (or until settle()); pushing an archived image again restores it at once (UNCONFIRMED: AWS may "
    "also take time). ListImages and DescribeImages show ACTIVE images unless filter.imageStatus says otherwise; "
    "DescribeImages by image id shows any status (UNCONFIRMED). Pulls of ARCHIVED or ACTIVATING images answer 404 "
    "MANIFEST_UNKNOWN on /v2/ and a BatchGetImage failure ImageNotFound (UNCONFIRMED: ImageFailureCode also has "
    "ImageInaccessible). An archive and a completed restore send ECR Image Action UPDATE_STORAGE_CLASS "
    "(target-storage-class; last-activated-at on a restore). ImageStorageClassUpdateNotSupportedException for a "
    "transition to the class the image is in or while it is ACTIVATING (UNCONFIRMED). "
    "Lifecycle previews select archived images by storageClass archive and "
    "sinceImageTransitioned (never before 90 days in archive). The emulator runs each repository's lifecycle policy "
    "24 hours after it is set and daily after that on its clock, or at once on settle() (user guide: within 24 "
    "hours); a run does what a preview started at that moment lists: transition archives (ECR Image Action "
    "UPDATE_STORAGE_CLASS), expire deletes as BatchDeleteImage does (ECR Image Action DELETE; both events "
    "UNCONFIRMED for lifecycle actions); a restored image ages from its restore (UNCONFIRMED). StartImageScan of an "
    "archived or restoring image answers ImageArchivedException, and continuous scanning skips archived images.",
    "Pull times (user guide, Pull-time update exclusions): every BatchGetImage and /v2/ manifest GET of an ACTIVE "
    "image sets lastRecordedPullTime unless the caller is on the exclusion list (AWS may refresh it only once per 24 "
    "hours, model text); a HEAD does not count (UNCONFIRMED); an assumed-role session matches its role by account "
    "and name; the limit of 100 is per registry (account and region; the guide says per account, UNCONFIRMED); user "
    "ARNs are accepted as the model's pattern allows (the guide speaks of role ARNs).",
    "Blobs are served directly by the emulator, not by a 307 redirect to presigned S3 (one round trip less per "
    "blob); single byte ranges are served (206), multipart ranges are not.",
    "Pull through cache: offline, the emulator's stand-ins answer for the public upstream hosts (sample images "
    "under public names; `serve --upstream HOST=URL` maps a host to a real registry) and ECR upstreams are the "
    "emulator's own registries; only pulls over /v2/ fill the cache (not BatchGetImage); the manifest is fetched at "
    "once, each layer when first read, streamed to the client while it fills the cache (U39); a failed first pull "
    "creates no repository; failures answer 403 DENIED, 429 "
    "TOOMANYREQUESTS, 503 or 404 MANIFEST_UNKNOWN with the ImageFailureCode in the message (U10); a cached image "
    "also sends an ECR Image Action PUSH; events carry rule-version 1 and sync-status FAILED with failure-code on a "
    "failure (U8); cgr.dev as chainguard's host (U3), upstreamRepositoryPrefix for non-ECR upstreams, refusing a "
    "credential for upstreams without auth (U4) and requiring customRoleArn for a cross-account ECR upstream (U5); "
    "a first pull by digest fills the cache, as the user guide implies (U9).",
    "Scanning: a scan (on push, StartImageScan, ENHANCED's initial scan) runs in the background: IN_PROGRESS (PENDING "
    "under ENHANCED) until 5 s later on the emulator clock, or settle(), then its result and its event (U40); the "
    "feed is data/vulndb or `serve --vulndb`; OS packages of Alpine and Debian only, and under ENHANCED also npm "
    "packages (node_modules/*/package.json) and Python packages (site-packages/*.dist-info/METADATA), reported as "
    "packageManager NODEPKG and PYTHONPKG (U11); no other language ecosystems; distroless images are read through "
    "their dpkg records (U27). The feed changes only when advisories are published to it (/_ecrlab/advisories, "
    "EmulatorControl.publish_advisories): under ENHANCED, images with an enhanced scan in CONTINUOUS_SCAN "
    "repositories are rescanned at once (U12), keeping each finding's firstObservedAt; each new enhanced finding "
    "sends an Inspector2 Finding event, each dropped one a CLOSED one (U20); scan-on-push and basic findings change "
    "only with a new scan; Inspector's re-scan duration, after which images are no longer rescanned "
    "(SCAN_ELIGIBILITY_EXPIRED), is not modelled; an unknown OS is UNSUPPORTED_IMAGE (some reports show FAILED with "
    "the same description), under ENHANCED too even when the image holds language packages (U15); an image index "
    "is not scanned itself, its manifests are (U17); the deprecated repository scanOnPush still scans on push under "
    "BASIC (U18). BASIC_SCAN_TYPE_VERSION reads AWS_NATIVE and refuses CLAIR (retired 2 February 2026; S5).",
    "Pages: every paginated operation the emulator answers takes maxResults within the model's range and returns "
    "the model's documented default page size without it (S8); nextToken is opaque and names the operation and the "
    "last item returned, so writes between pages neither repeat nor skip items present throughout; a token ECR "
    "cannot read is InvalidParameterException with the wording seen from AWS (S8, U34); repositories and images "
    "are listed in creation order, and maxResults or nextToken with repositoryNames or imageIds is "
    "InvalidParameterException (U34).",
    "Replication: a replication or backfill step completes 10 s after it is queued on the emulator clock (at the "
    "next request), or at once on /_ecrlab/settle; images are copied atomically, so a stopped backfill is never "
    "STOPPING. Failure codes are ecrlab's (U21); limits beyond the model's are InvalidParameterException (U6); a "
    "cross-account delete needs ReplicateImage, and a re-tag replicates (U22).",
    "Requests are read against botocore's model before any handler (ecrlab.emulator.request_validation): a body "
    "that is not a JSON object, or a member of the wrong JSON type, answers SerializationException in the JSON "
    "protocol's words ('Start of structure or map found where not expected.', 'STRING_VALUE can not be converted to "
    "a Boolean', as AWS services answer in aws-amplify/amplify-js#13265 and mhart/kinesalite#101; U36); an "
    "explicit null reads as absent; broken lengths, ranges, patterns, enums and required "
    "members answer one ValidationException listing them all. An operation the emulator lacks answers InvalidAction "
    "(AWS would run it); an unexpected failure answers ServerException JSON (500), never HTML, is logged, and "
    "leaves the addressed registry as it was before the write (ecrlab.emulator.snapshots; IAM, EventBridge and the "
    "blob store are not rolled back).",
    "/v2/ edges: a Content-Length that is not a byte count, or above ECR's 52,000 MiB maximum layer size "
    "(https://docs.aws.amazon.com/AmazonECR/latest/userguide/service-quotas.html), answers 400 or 413 SIZE_INVALID "
    "(U37); a connection that sends nothing for 60 s is dropped; an upload session answers "
    "only the registry, repository and principal that opened it (404 BLOB_UPLOAD_UNKNOWN to anyone else); an upload "
    "no bytes reached for 24 hours on the emulator clock is removed, and so are staged uploads an earlier emulator "
    "left on disk (U37).",
)


@dataclass(frozen=True)
class Row:
    operation: str
    status: str
    note: str


def _is_stub(method_name: str) -> bool:
    method = getattr(ECRResponse, method_name, None)
    return method is not None and "NotImplementedError" in inspect.getsource(method)


def _reason(operation: str) -> str:
    for fragment, reason in PLANNED.items():
        if fragment in operation:
            return reason
    return "not used by any lesson yet"


def coverage() -> list[Row]:
    """One row per ECR operation, sorted by name."""
    install()
    rows = []
    for operation in sorted(ecr_model().operation_names):
        method = camelcase_to_underscores(operation)
        extension = EXTENSIONS.get(operation)
        if extension and extension.kind == "operation":
            source = f" (source: {SOURCES[operation]})" if operation in SOURCES else ""
            rows.append(Row(operation, EXTENDED, extension.note + source))
        elif extension and extension.kind == "override":
            rows.append(Row(operation, OVERRIDDEN, extension.note))
        elif extension:
            rows.append(Row(operation, HOOKED, extension.note))
        elif method in NATIVE_METHODS and _is_stub(method):
            rows.append(Row(operation, MISSING, f"moto raises NotImplementedError; {_reason(operation)}"))
        elif method in NATIVE_METHODS:
            rows.append(Row(operation, NATIVE, DEPARTURES.get(operation, "")))
        else:
            rows.append(Row(operation, MISSING, _reason(operation)))
    return rows


def counts(rows: list[Row]) -> dict[str, int]:
    result = {status: 0 for status in (NATIVE, HOOKED, OVERRIDDEN, EXTENDED, MISSING)}
    for row in rows:
        result[row.status] += 1
    return result


def summary(rows: list[Row]) -> str:
    """How many operations the emulator answers, and how (the line `ecrlab emulator coverage` ends with)."""
    found = counts(rows)
    by_status = ", ".join(f"{status}: {count}" for status, count in found.items())
    return f"{len(rows) - found[MISSING]} of {len(rows)} operations emulated — {by_status}"


def markdown(rows: list[Row]) -> str:
    """The table as the docs show it (docs/fidelity.md is generated from this)."""
    lines = [
        "# Emulator fidelity",
        "",
        "Generated by `ecrlab emulator coverage --markdown`; a test fails when it differs from the code.",
        "",
        f"{len(rows)} operations in botocore's ECR model; {summary(rows)}.",
        "",
        "Each behaviour cites its source (the notes, and the Sourced facts S1–S8); each UNCONFIRMED reading has an "
        "id (U…).",
        "",
        "| operation | status | note | source |",
        "|---|---|---|---|",
    ]
    lines += [f"| {row.operation} | {row.status} | {row.note} | {_source(row.operation)} |" for row in rows]
    lines += ["", "## Known departures across operations", ""]
    lines += [f"- {departure}" for departure in CROSS_CUTTING]
    lines += ["", "## Sources", ""]
    lines += [f"- {name}: <{url}>" for name, url in SOURCE_PAGES.items()]
    lines += sources_markdown()
    return "\n".join(lines) + "\n"


def _source(operation: str) -> str:
    return OPERATION_SOURCES.get(operation) or ("the note" if operation in SOURCES else "model")
