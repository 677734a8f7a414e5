"""Where each behaviour the emulator models comes from, and each reading it could not confirm.

`SOURCES` are the sourced facts the emulator (and the lessons) rely on, grouped by feature, each with the document,
model shape or public issue it comes from. `UNCONFIRMED` lists every reading the code marks `UNCONFIRMED [Un]`: the
code cites the entry's id, the entry says what was chosen and why. Both are rendered into docs/fidelity.md by
`ecrlab emulator coverage --markdown`; a test checks that every marker in the code names an entry here.
"""

from __future__ import annotations

MODEL = "botocore ECR model (ecr/2015-09-21/service-2, botocore 1.44.8)"
GUIDE = "https://docs.aws.amazon.com/AmazonECR/latest/userguide/"

# id -> (topic, [(fact, source), ...])
SOURCES: dict[str, tuple[str, list[tuple[str, str]]]] = {
    "S1": (
        "Registry policy and REGISTRY_POLICY_SCOPE",
        [
            (
                "One registry policy per registry; PutRegistryPolicy replaces it; policyText 0–10,240 characters; "
                "RegistryPolicyNotFoundException when none is set",
                MODEL,
            ),
            (
                "V2 is the default; under V2 all ECR actions are allowed and enforced; V1 enforces only "
                "ecr:ReplicateImage, ecr:BatchImportUpstreamImage, ecr:CreateRepository",
                GUIDE + "registry-permissions.html",
            ),
            (
                '"Amazon ECR doesn\'t recommend reverting to the previous registry policy V1"; the current model '
                "documents only V2 as the scope value",
                GUIDE + "registry-permissions-account-settings.html; " + MODEL,
            ),
            (
                "V1 refuses other actions with InvalidParameterException \"Invalid parameter at 'PolicyText' failed to "
                "satisfy constraint: 'Invalid registry policy provided'\"",
                "https://github.com/hashicorp/terraform-provider-aws/issues/40933; "
                "https://github.com/pulumi/pulumi-aws/issues/2326",
            ),
            (
                'V1 accepts ecr:*: "While it is possible to add the ecr:* action to a private registry permissions '
                'policy, it is considered best practice to only add the specific actions required"',
                GUIDE + "registry-permissions.html (V1-era version, quoted at https://repost.aws/questions/"
                "QUotxPDrRVT2ikDhEV92zQwA)",
            ),
            (
                "Same account: identity or resource policy allowing is enough; an explicit Deny anywhere wins; across "
                "accounts both sides must allow",
                "https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic_policy-eval-"
                "basics.html; https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic-"
                "cross-account",
            ),
        ],
    ),
    "S2": (
        "Pull through cache",
        [
            (
                "Upstream kinds and URLs (ecr-public public.ecr.aws, k8s registry.k8s.io, quay quay.io, docker-hub "
                "registry-1.docker.io, github-container-registry ghcr.io, azure-container-registry <name>.azurecr.io, "
                "gitlab-container-registry registry.gitlab.com, chainguard, "
                "ecr <account>.dkr.ecr.<region>.amazonaws.com)",
                MODEL + " (UpstreamRegistry enum, CreatePullThroughCacheRuleRequest.upstreamRegistryUrl)",
            ),
            (
                "Docker Hub, GitHub, Azure, GitLab and Chainguard need a Secrets Manager secret named "
                "ecr-pullthroughcache/… (JSON username, accessToken) in the rule's account and region; a cross-account "
                "ECR upstream needs customRoleArn",
                GUIDE + "pull-through-cache.html; " + GUIDE + "pull-through-cache-creating-secret.html",
            ),
            (
                'A credential-less rule for such an upstream: UnsupportedUpstreamRegistryException "The specified '
                'upstream registry requires authentication. Specify a valid Secrets Manager ARN"',
                "https://github.com/aws-controllers-k8s/community/issues/2589 (AWS's response quoted)",
            ),
            (
                "UpdatePullThroughCacheRule with neither credentialArn nor customRoleArn: InvalidParameterException "
                '"Invalid input: Please set either credential arn or role arn to update the credentials"',
                "https://github.com/pulumi/pulumi-aws/issues/5714 (AWS's response quoted)",
            ),
            ("50 rules per registry, not adjustable", GUIDE + "service-quotas.html"),
            (
                'ECR updates cached images "at least once every 24 hours": on a pull it re-checks the upstream when '
                "its last validation is older than 24 hours; if the upstream fails, the cached image is served",
                GUIDE + "pull-through-cache.html",
            ),
            (
                "The documented ECR Public form: rule ecr-public → public.ecr.aws, pull ecr-public/docker/library/node",
                GUIDE + "pull-through-cache.html",
            ),
            (
                "Missing CreateRepository: 'name unknown'; missing BatchImportUpstreamImage: 'manifest unknown'",
                GUIDE + "error-pullthroughcache.html",
            ),
            (
                "Repository created on first pull with a PULL_THROUGH_CACHE template's settings, else defaults "
                "(mutable, AES256, no policies, no tags)",
                GUIDE + "pull-through-cache.html; " + GUIDE + "repository-creation-templates.html",
            ),
            (
                "Event ECR Pull Through Cache Action (rule-version, sync-status, ecr-repository-prefix, "
                "repository-name, upstream-registry-url, image-tag, image-digest)",
                GUIDE + "ecr-eventbridge.html",
            ),
            ("ValidatePullThroughCacheRule reads the secret and authenticates upstream; isValid and failure", MODEL),
        ],
    ),
    "S3": (
        "Repository creation templates and create on push",
        [
            (
                "Fields, limits and appliedFor (REPLICATION, PULL_THROUGH_CACHE, CREATE_ON_PUSH); "
                "TemplateAlreadyExistsException, TemplateNotFoundException",
                MODEL,
            ),
            (
                "Most specific prefix wins; ROOT covers the rest; templates apply only when ECR creates the "
                "repository (pull through cache, replication, create on push), never to CreateRepository",
                GUIDE + "repository-creation-templates.html",
            ),
            (
                "Create on push needs a matching CREATE_ON_PUSH template: \"When there isn't a repository creation "
                "template that matches the target repository for an image push, Amazon ECR will not create a "
                'repository with default settings."',
                GUIDE + "repository-creation-templates.html; " + GUIDE + "docker-push-ecr-image.html",
            ),
            (
                "customRoleArn is required for resource tags or KMS in a template",
                GUIDE + "repository-creation-templates.html",
            ),
        ],
    ),
    "S4": (
        "Replication",
        [
            (
                "Limits: 25 rules (ReplicationRuleList), 100 destinations per rule (ReplicationDestinationList), 100 "
                "filters per rule (RepositoryFilterList); older guide pages said 10 rules and 25 unique destinations",
                MODEL + "; https://docs.aws.amazon.com/AmazonECR/latest/APIReference/API_ReplicationRule.html",
            ),
            (
                "Only content pushed after the configuration replicates; names stay; no chaining; settings do not "
                "travel unless a REPLICATION template applies in the destination",
                GUIDE + "replication.html; " + GUIDE + "repository-creation-templates.html",
            ),
            (
                "Cross-account: the destination's registry policy grants ecr:ReplicateImage (and ecr:CreateRepository "
                "to create repositories); the source needs nothing",
                GUIDE + "replication.html",
            ),
            ("deleteReplication replicates deletions and tag removals", MODEL),
            ("DescribeImageReplicationStatus: IN_PROGRESS, COMPLETE, FAILED with a free-form failureCode", MODEL),
            (
                "Backfill: one per destination region at a time, ten per registry, PREPARING → IN_PROGRESS → "
                "COMPLETE, progress null while PREPARING, per-image results after a terminal status, terminal "
                "backfills kept 90 days",
                MODEL + " (StartReplicationBackfill, DescribeReplicationBackfillResults, "
                "ListReplicationBackfills, StopReplicationBackfill)",
            ),
            (
                "A replicated image sends ECR Replication Action (result, repository-name, image-digest, "
                "source-account, action-type REPLICATE, source-region, image-tag) to the destination",
                GUIDE + "ecr-eventbridge.html",
            ),
        ],
    ),
    "S5": (
        "Scanning",
        [
            (
                "Registry scanning configuration: BASIC or ENHANCED, at most 2 rules, 100 WILDCARD filters each; "
                "BASIC takes SCAN_ON_PUSH, ENHANCED also CONTINUOUS_SCAN",
                MODEL,
            ),
            (
                "A filter without * matches names containing it; * is any characters; continuous wins; under "
                "ENHANCED unmatched repositories are not scanned",
                "https://github.com/awsdocs/amazon-ecr-user-guide/blob/master/doc_source/image-scanning.md (archived)",
            ),
            (
                "One basic scan per image per 24 hours, scan on push included (LimitExceededException)",
                MODEL + " (StartImageScan); " + GUIDE + "service-quotas.html",
            ),
            (
                '"As of February 2, 2026, Clair-based image scanning has been deprecated and all ECR accounts have '
                'been migrated to Amazon native basic scanning"; BASIC_SCAN_TYPE_VERSION reads AWS_NATIVE, '
                "the only value the model documents",
                GUIDE + "doc-history.html; " + GUIDE + "image-scanning-basic.html; " + MODEL,
            ),
            (
                "AWS-native basic scanning covers OS packages of the listed distributions (Alpine 3.19–3.23, AlmaLinux "
                "8–10, Amazon Linux 2/2023, Debian 11–13, Fedora 41, openSUSE Leap 15.6, Oracle Linux 8–9, Photon OS "
                "4–5, RHEL 8–10, Rocky Linux 8–9, SLES 15.6, Ubuntu 16.04–24.10), over 50 feeds, distribution "
                "severity else CVSS; language packages need enhanced scanning",
                GUIDE + "image-scanning-basic.html",
            ),
            (
                "\"The new version of Amazon ECR Basic Scanning doesn't use the ImageDetail$imageScanFindingsSummary "
                'and ImageDetail$imageScanStatus attributes … Use the DescribeImageScanFindings API instead"',
                MODEL + " (DescribeImages documentation)",
            ),
            (
                "DescribeImageScanFindings shapes: findings[] (basic), enhancedFindings[] (Inspector), "
                "findingSeverityCounts, ScanNotFoundException",
                MODEL,
            ),
            (
                "ECR Image Scan event (basic): scan-status, repository-name, finding-severity-counts with only the "
                "severities found, image-digest, image-tags",
                GUIDE + "ecr-eventbridge.html",
            ),
            (
                "Enhanced: ECR Scan Resource Change from ECR; from Inspector (aws.inspector2) Inspector2 Scan "
                '(INITIAL_SCAN_COMPLETE) and Inspector2 Finding "when an image scan finding is created, updated, or '
                'closed", the finding as detail',
                GUIDE + "image-scanning-enhanced-events.html; "
                "https://docs.aws.amazon.com/inspector/latest/user/eventbridge-integration.html",
            ),
            (
                "aws ecr wait image-scan-complete: 60 checks 5 s apart, COMPLETE succeeds, FAILED fails",
                "botocore ECR waiters-2 (ImageScanComplete)",
            ),
        ],
    ),
    "S6": (
        "Images, layers and events",
        [
            ("ECR Image Action (PUSH, DELETE) with resources []", GUIDE + "ecr-eventbridge.html"),
            (
                "ECR Image Action UPDATE_STORAGE_CLASS for an archive or a restore, with target-storage-class, "
                "manifest-media-type, artifact-media-type and (restore) last-activated-at",
                GUIDE + "ecr-eventbridge.html",
            ),
            (
                "Account settings BASIC_SCAN_TYPE_VERSION, REGISTRY_POLICY_SCOPE, BLOB_MOUNTING (ENABLED/DISABLED)",
                MODEL + " (PutAccountSetting)",
            ),
            (
                "Request members are validated against the model's enums, lengths, ranges and patterns "
                "(ValidationException)",
                MODEL,
            ),
        ],
    ),
    "S7": (
        "Lifecycle policies and authentication",
        [
            (
                "Lifecycle rules: unique rulePriority; tagStatus tagged needs tagPrefixList or tagPatternList; "
                '"A rule with a tagStatus value of any must have the highest value for rulePriority"; countUnit only '
                "with sinceImagePushed/sinceImagePulled",
                GUIDE + "lifecycle_policy_parameters.html; " + GUIDE + "LifecyclePolicies.html",
            ),
            (
                'Lifecycle policies act on their own schedule: "images can be archived or expired based on the '
                'criteria specified in the lifecycle policy within 24 hours", and each action "is captured as an '
                'event in AWS CloudTrail"',
                GUIDE + "LifecyclePolicies.html",
            ),
            (
                '"Archived images cannot be scanned"; StartImageScan lists ImageArchivedException, "The specified '
                'image is archived and cannot be scanned."',
                GUIDE + "image-scanning.html; " + MODEL + " (StartImageScan)",
            ),
            ("GetLifecyclePolicyPreview paging and tagStatus filter", MODEL),
            (
                "GetAuthorizationToken: a token valid for 12 hours; registry login user AWS",
                MODEL + " (GetAuthorizationToken); " + GUIDE + "registry_auth.html",
            ),
        ],
    ),
    "S8": (
        "Pagination",
        [
            (
                "Every paginated operation takes maxResults in the model's range (1–1000; 1–100 for "
                "GetLifecyclePolicyPreview; 1–50 for ListImageReferrers and ListReplicationBackfills) and without it "
                'returns "up to 100 results and a nextToken value, if applicable" (20 for ListImageReferrers, 25 for '
                "ListReplicationBackfills)",
                MODEL + " (maxResults member documentation of each operation; paginators-1.json)",
            ),
            (
                'nextToken "should be treated as an opaque identifier that is only used to retrieve the next items in '
                'a list"; maxResults and nextToken "cannot be used" with repositoryNames (DescribeRepositories) or '
                "imageIds (DescribeImages)",
                MODEL + " (nextToken member documentation)",
            ),
            (
                "A token ECR cannot read: InvalidParameterException \"Invalid parameter at 'NextToken' failed to "
                "satisfy constraint: 'Invalid next token provided.'\" (seen through ECR's registry API)",
                "https://github.com/regclient/regclient/issues/931",
            ),
        ],
    ),
}

# Which entries of SOURCES each operation the emulator extends, overrides or hooks follows.
OPERATION_SOURCES: dict[str, str] = {
    **dict.fromkeys(
        ("CreatePullThroughCacheRule", "DeletePullThroughCacheRule", "DescribePullThroughCacheRules",
         "UpdatePullThroughCacheRule", "ValidatePullThroughCacheRule"), "S2"),
    **dict.fromkeys(
        ("CreateRepositoryCreationTemplate", "DeleteRepositoryCreationTemplate",
         "DescribeRepositoryCreationTemplates", "UpdateRepositoryCreationTemplate"), "S3"),
    **dict.fromkeys(
        ("PutReplicationConfiguration", "DescribeImageReplicationStatus", "StartReplicationBackfill",
         "DescribeReplicationBackfillResults", "ListReplicationBackfills", "StopReplicationBackfill"), "S4"),
    **dict.fromkeys(
        ("DescribeImageScanFindings", "StartImageScan", "PutRegistryScanningConfiguration",
         "GetRegistryScanningConfiguration", "BatchGetRepositoryScanningConfiguration"), "S5"),
    **dict.fromkeys(("GetAccountSetting", "PutAccountSetting"), "S1, S5, S6"),
    **dict.fromkeys(("PutRegistryPolicy", "GetRegistryPolicy", "DeleteRegistryPolicy"), "S1"),
    **dict.fromkeys(
        ("PutImage", "BatchDeleteImage", "InitiateLayerUpload", "UploadLayerPart", "CompleteLayerUpload"), "S6"),
    "DescribeImages": "S6, S8",
    **dict.fromkeys(("DescribeRepositories", "ListImages"), "S8"),
    **dict.fromkeys(
        ("PutLifecyclePolicy", "StartLifecyclePolicyPreview", "GetLifecyclePolicyPreview", "GetAuthorizationToken",
         "GetDownloadUrlForLayer"), "S7"),
}  # fmt: skip

# id -> what the emulator does where AWS documents nothing (the code marks each `UNCONFIRMED [id]`).
UNCONFIRMED: dict[str, str] = {
    "U1": "A registry-policy Deny overrides identity Allows under V2 (standard IAM explicit deny).",
    "U2": "Across accounts, an Allow in the registry or the repository policy counts as the resource side.",
    "U3": "chainguard's upstream host is cgr.dev (third-party guides; not in the model's URL doc string).",
    "U4": "A credential given for an upstream that needs none (ecr-public, k8s, quay) is refused, not ignored.",
    "U5": "CreatePullThroughCacheRule refuses a cross-account ECR upstream without customRoleArn.",
    "U6": "Error wordings the model does not give are written in the style of AWS's documented messages.",
    "U7": "BLOB_MOUNTING defaults to DISABLED (mounting is opt-in); a pull through cache repository can be neither "
    "the source nor the target of a mount.",
    "U8": "Pull through cache events carry rule-version 1; a failed sync is sync-status FAILED with failure-code.",
    "U9": "A first pull by digest fills the cache (aws/containers-roadmap#2837 reports ECR answering it as missing).",
    "U10": "How a failed upstream import reads on /v2/ (HTTP status and OCI error code per ImageFailureCode).",
    "U11": "Language packages are reported as packageManager NODEPKG and PYTHONPKG with a GitHub-advisory source.",
    "U12": "Inspector rescans continuously scanned images at once after a feed update, and all of them.",
    "U13": "Basic finding attribute keys of AWS-native scanning (CVSS3_* alongside the documented CVSS2_* keys).",
    "U14": "Finding sources and platforms for Alpine (ALPINE_LINUX_3_19 style); DEBIAN_CVE and DEBIAN_12 are "
    "documented.",
    "U15": "An image with no OS Inspector knows is UNSUPPORTED_IMAGE under ENHANCED too, language packages or not.",
    "U16": "StartImageScan under ENHANCED answers ValidationException.",
    "U17": "An image index is not scanned itself (StartImageScan: UnsupportedImageTypeException); its manifests are.",
    "U18": "The deprecated repository scanOnPush still scans on push under BASIC.",
    "U19": "Only a COMPLETE basic scan's event is documented; other outcomes send the same event with their status.",
    "U20": "An enhanced finding still present after a rescan is not announced again; a dropped one is announced "
    "CLOSED. Inspector's timestamps in events are written as ISO 8601.",
    "U21": "Replication failure codes (ReplicateImageAccessDenied, RepositoryNotFound, RepositoryCreationFailed, "
    "DestinationNotConfigured) are the emulator's own: AWS documents none.",
    "U22": "A cross-account replicated delete needs ecr:ReplicateImage; a re-tag replicates.",
    "U23": "Repository creation templates: at most 100 per registry (one third-party page); Update clears a text "
    "field given as '' or []; 'prod' and 'prod/' are one prefix; a more specific template without the feature hides "
    "a less specific one that has it.",
    "U24": "Presigned layer download URLs last one hour.",
    "U25": "Lifecycle policy wordings beyond the documented checks.",
    "U26": "BatchGetRepositoryScanningConfiguration: scanOnPush is true only for SCAN_ON_PUSH; a MANUAL rule is "
    "refused; turning ENHANCED on scans every existing image under a continuous rule.",
    "U28": "Repositories ECR creates on a caller's behalf: create on push needs the pusher's ecr:CreateRepository; "
    "replication is checked for the source account's root (not its service-linked role); whether the pull through "
    "cache service-linked role is also checked against the registry policy.",
    "U29": "Whether the root user can still change a registry policy whose Deny covers it (S3 lets a bucket's root "
    "user do so).",
    "U30": "Pull times: a HEAD does not record a pull; pulls of ARCHIVED or ACTIVATING images fail ImageNotFound; "
    "the 100 exclusions are counted per registry.",
    "U31": "Managed signing: FAILED with failureCode AccessDenied, the 10 s delay, the envelope media type "
    "(application/jose+json) and annotations, an index and each manifest signed, a new tag not signed again, "
    "signatures not signed, a profile in another region refused by PutSigningConfiguration.",
    "U32": "Archive: DescribeImages by image id shows any status; which storage-class transitions are refused and "
    "the wording; ImageNotFound as the failure code for archived images; a push restores at once; StartImageScan "
    "refuses a restoring (ACTIVATING) image as an archived one.",
    "U33": "Lifecycle archive rules: AWS may accept a rule shorter than the 90-day minimum (the rule waits at least "
    "that long here); an image never pulled ages from its push under sinceImagePulled; a restored image ages from "
    "its restore (lastActivatedAt) under sinceImagePushed and sinceImagePulled (the guide: restored images behave "
    "like newly pushed ones).",
    "U34": "Pages: the API's own wording for a token it cannot read (the one seen came through the registry API) "
    "and for maxResults or nextToken given with repositoryNames or imageIds; repositories and images are listed in "
    "creation order (AWS documents no order).",
    "U27": "Whether AWS-native basic scanning reads a distroless image's dpkg records (/var/lib/dpkg/status.d): the "
    "supported-OS list names distributions, not image styles; the emulator reads them.",
    "U36": "Request checks before any handler: ECR answers wrong JSON types with the SerializationException wordings "
    "other AWS JSON-protocol services use; an explicit null member reads as absent; an operation the emulator lacks "
    "answers InvalidAction.",
    "U40": "Scans in the background: how long AWS takes (the emulator: 5 s on its clock, or settle()), and that an "
    "enhanced scan reads PENDING until Amazon Inspector's first scan of the image completes.",
    "U38": "Lifecycle runs: that a lifecycle transition sends ECR Image Action UPDATE_STORAGE_CLASS and a lifecycle "
    "expiry ECR Image Action DELETE (AWS documents a CloudTrail PolicyExecutionEvent for lifecycle actions); the "
    "emulator's cadence (24 hours after the policy is set, then daily) within AWS's \"within 24 hours\".",
    "U39": "Pull through cache layers: that ECR fetches a cached image's layers when they are first read, not with "
    "its manifest (as the model's GetDownloadUrlForLayer error UnableToGetUpstreamLayerException, \"There was "
    'an issue getting the upstream layer matching the pull through cache rule", suggests), and whether it '
    "streams a layer to the client while caching it or answers once it is cached is not documented; the "
    "emulator streams, holding back the last byte until the layer's digest is verified, and fetches a layer "
    "again for each new cache repository.",
    "U37": "/v2/ edges: 400 or 413 SIZE_INVALID for a Content-Length that is not a byte count or exceeds the 52,000 "
    "MiB layer quota; a 60 s idle timeout; an unfinished upload expires after 24 hours without bytes.",
}


def markdown() -> list[str]:
    """The sources and the unconfirmed readings as docs/fidelity.md shows them."""
    lines = ["", "## Sourced facts", ""]
    for key, (topic, facts) in SOURCES.items():
        lines += [f"### {key}. {topic}", ""]
        lines += [f"- {fact}. Source: {source}." for fact, source in facts]
        lines.append("")
    lines += ["## Unconfirmed readings", "", "The code marks each one `UNCONFIRMED [id]`.", ""]
    lines += [f"- **{key}**: {text}" for key, text in UNCONFIRMED.items()]
    return lines
