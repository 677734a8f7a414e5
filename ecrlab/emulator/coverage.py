"""The fidelity table: every operation of botocore's ECR model and how the emulator answers it.

Statuses are derived from the code (moto's response class before and after ecrlab's extensions are
installed), never typed by hand, so the table and the emulator cannot disagree.
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass

from moto.core.utils import camelcase_to_underscores
from moto.ecr.responses import ECRResponse

from ecrlab.ecr_model import ecr_model
from ecrlab.emulator.extension import EXTENSIONS, NATIVE_METHODS, install

NATIVE = "moto native"
HOOKED = "moto native + ecrlab hook"
OVERRIDDEN = "ecrlab override"
EXTENDED = "ecrlab extension"
MISSING = "not emulated"

# Why an operation is not emulated yet; anything unlisted is outside what the lessons use.
PLANNED = {
    "Signing": "image signing is outside the five features this kit teaches",
    "Referrers": "referrers are outside the five features this kit teaches",
    "Archive": "image archiving is outside the five features this kit teaches",
    "StorageClass": "image archiving is outside the five features this kit teaches",
    "ImageStorageClass": "image archiving is outside the five features this kit teaches",
}

# Known departures of moto-native operations from AWS, until a feature replaces them.
DEPARTURES = {}


# Behaviour that spans operations, where the emulator knowingly differs from AWS or follows an UNCONFIRMED reading.
CROSS_CUTTING = (
    "Authorization: demo keys, and sessions of roles IAM does not hold, act as the account root (moto lets any "
    "role be assumed; AWS refuses a missing role). IAM users and existing roles are decided by "
    "ecrlab.permissions.simulate: no SCPs, permission boundaries, session policies or VPC endpoint policies.",
    "A registry-policy Deny overrides identity Allows under V2 (standard IAM explicit deny; AWS documents this "
    "only indirectly, UNCONFIRMED).",
    "Across accounts, an Allow in either the registry or the repository policy counts as the resource side "
    "(how AWS combines the two is UNCONFIRMED).",
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
    "BLOB_MOUNTING defaults to DISABLED and gates OCI cross-repository mounts (UNCONFIRMED link).",
    "Blobs are served directly by the emulator, not by a 307 redirect to presigned S3 (one round trip less per "
    "blob); single byte ranges are served (206), multipart ranges are not.",
    "Pull through cache: offline, the emulator's stand-ins answer for the public upstream hosts (sample images "
    "under public names; `serve --upstream HOST=URL` maps a host to a real registry) and ECR upstreams are the "
    "emulator's own registries; only pulls over /v2/ fill the cache (not BatchGetImage); layers are fetched with "
    "the manifest, not lazily; a failed first pull creates no repository; failures answer 403 DENIED, 429 "
    "TOOMANYREQUESTS, 503 or 404 MANIFEST_UNKNOWN with the ImageFailureCode in the message; a cached image also "
    "sends an ECR Image Action PUSH; events carry rule-version 1 and sync-status FAILED with failure-code on a "
    "failure; cgr.dev as chainguard's host, upstreamRepositoryPrefix for non-ECR upstreams, refusing a credential "
    "for upstreams without auth and requiring customRoleArn for a cross-account ECR upstream (all UNCONFIRMED); a "
    "first pull by digest fills the cache, as the user guide implies (UNCONFIRMED: aws/containers-roadmap#2837 "
    "reports ECR answering an uncached digest as missing).",
    "Scanning: a scan settles before the call that starts it returns (StartImageScan still answers IN_PROGRESS); the "
    "feed is data/vulndb or `serve --vulndb`; OS packages of Alpine and Debian only, and under ENHANCED also npm "
    "packages (node_modules/*/package.json) and Python packages (site-packages/*.dist-info/METADATA), reported as "
    "packageManager NODEPKG and PYTHONPKG (UNCONFIRMED); no other language ecosystems. The feed changes only when "
    "advisories are published to it (/_ecrlab/advisories, EmulatorControl.publish_advisories): under ENHANCED, images "
    "with an enhanced scan in CONTINUOUS_SCAN repositories are rescanned at once (how soon Inspector rescans is "
    "UNCONFIRMED), keeping each finding's firstObservedAt, with no event (Inspector2 Finding events are not modelled);"
    " scan-on-push and basic findings change only with a new scan; Inspector's re-scan duration, after which images "
    "are no longer rescanned (SCAN_ELIGIBILITY_EXPIRED), is not modelled; an unknown OS is UNSUPPORTED_IMAGE (some "
    "reports show FAILED with the same description), under ENHANCED too even when the image holds language packages "
    "(UNCONFIRMED); an image index is not scanned itself, its manifests are; the deprecated repository scanOnPush "
    "still scans on push under BASIC (UNCONFIRMED).",
    "Replication: a replication or backfill step completes 10 s after it is queued on the emulator clock (at the "
    "next request), or at once on /_ecrlab/settle; images are copied atomically, so a stopped backfill is never "
    "STOPPING. Failure codes (ReplicateImageAccessDenied, RepositoryNotFound, RepositoryCreationFailed, "
    "DestinationNotConfigured) are ecrlab's; the destination also gets an ECR Image Action PUSH; quota breaches "
    "are InvalidParameterException; a cross-account delete needs ReplicateImage; a re-tag replicates (all "
    "UNCONFIRMED).",
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
            rows.append(Row(operation, EXTENDED, extension.note))
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


def markdown(rows: list[Row]) -> str:
    """The table as the docs show it (docs/fidelity.md is generated from this)."""
    summary = ", ".join(f"{status}: {count}" for status, count in counts(rows).items())
    lines = [
        "# Emulator fidelity",
        "",
        "Generated by `ecrlab emulator coverage --markdown`; a test fails when it differs from the code.",
        "",
        f"{len(rows)} operations in botocore's ECR model — {summary}.",
        "",
        "| operation | status | note |",
        "|---|---|---|",
    ]
    lines += [f"| {row.operation} | {row.status} | {row.note} |" for row in rows]
    lines += ["", "## Known departures across operations", ""]
    lines += [f"- {departure}" for departure in CROSS_CUTTING]
    return "\n".join(lines) + "\n"
