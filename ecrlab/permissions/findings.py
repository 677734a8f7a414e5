"""What the linter can say: every finding code with its severity and the sentence a learner reads.

Keeping the messages in one table keeps them consistent and lets the docs list every check.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

Severity = Literal["error", "warning", "info"]

_V1 = "ecr:ReplicateImage, ecr:BatchImportUpstreamImage and ecr:CreateRepository"
_REPO_ARN = "arn:aws:ecr:<region>:<account>:repository/*"

MESSAGES: dict[str, tuple[Severity, str]] = {
    "policy-too-large": (
        "error",
        "The policy is {size} characters; PutRegistryPolicy accepts at most {limit}. "
        "Merge statements that share principals and actions, or use wildcards such as "
        "repository/team-*.",
    ),
    "invalid-json": ("error", "The policy is not valid JSON ({reason}); AWS rejects it before reading it."),
    "not-an-object": ("error", "A policy is a JSON object with Version and Statement."),
    "unknown-element": ("error", "'{key}' is not a {level} element ({known}); move or remove it.{hint}"),
    "missing-version": (
        "warning",
        "Without Version, IAM applies the 2008-10-17 policy language, which lacks "
        'policy variables; add "Version": "2012-10-17".',
    ),
    "old-version": ("warning", "Version 2008-10-17 lacks policy variables; use 2012-10-17."),
    "invalid-version": (
        "error",
        "Version '{version}' is not a policy language version; AWS accepts only "
        "2012-10-17 (or the older 2008-10-17). Use 2012-10-17.",
    ),
    "missing-statement": ("error", "The policy needs a Statement: an object or a non-empty list of them."),
    "statement-not-object": ("error", "Each statement must be a JSON object."),
    "duplicate-sid": (
        "error",
        "Sid '{sid}' is used twice; IAM requires Sids to be unique within a policy. Rename one.",
    ),
    "invalid-effect": ("error", "Effect must be exactly 'Allow' or 'Deny', not {effect!r}."),
    "conflicting-elements": ("error", "A statement has {one} or {other}, not both."),
    "missing-action": ("error", "The statement needs Action (or NotAction)."),
    "missing-principal": (
        "error",
        "A registry policy is resource-based, so each statement must say whom it applies to with Principal.",
    ),
    "missing-resource": (
        "warning",
        f"Name the repositories the statement covers, e.g. {_REPO_ARN}, as AWS's registry policy examples do.",
    ),
    "invalid-action": ("error", "Actions are strings such as 'ecr:CreateRepository', not {value!r}."),
    "non-ecr-action": (
        "error",
        "'{action}' is not an ECR action. A registry policy governs only requests to ECR, "
        "so this entry can never apply; grant it in an identity policy instead.",
    ),
    "unknown-action": (
        "error",
        "'{action}' matches no ECR action in botocore's ECR model (plus the internal "
        "ReplicateImage and BatchImportUpstreamImage). IAM ignores unknown actions, so this entry "
        "does nothing.{hint}",
    ),
    "v1-action": (
        "error",
        f"Under REGISTRY_POLICY_SCOPE V1 a registry policy may only hold {_V1}; {{what}}, so "
        "AWS rejects the policy with InvalidParameterException 'Invalid registry policy provided'. "
        "Remove it, or move the registry to V2 (aws ecr put-account-setting --name "
        "REGISTRY_POLICY_SCOPE --value V2).",
    ),
    "v1-wildcard": (
        "warning",
        f"AWS accepts ecr:* in a V1 registry policy but enforces it only for {_V1}; AWS calls listing just the "
        "actions a feature needs best practice. Under V2 (the default, and what AWS recommends) ecr:* covers "
        "every ECR action.",
    ),
    "registry-action-on-repository": (
        "warning",
        "{action} acts on the registry, not a repository, so IAM "
        "evaluates it against Resource '*'; this statement names only repositories "
        "and never applies to it. Put {action} in a statement with Resource '*'.",
    ),
    "not-principal": (
        "warning",
        "AWS recommends against NotPrincipal: to exempt a role session it must list the "
        "session, role and account ARNs. Use Principal '*' with a Condition ArnNotLike on "
        "aws:PrincipalArn instead (what restrict_repository_admin builds).",
    ),
    "principal-shape": (
        "error",
        '{element} is "*" or an object such as {{"AWS": "arn:aws:iam::111122223333:role/NAME"}}.',
    ),
    "principal-kind-unused": (
        "warning",
        "'{kind}' principals do not call ECR directly; name AWS accounts, IAM "
        "roles or users (AWS) or a service (Service).",
    ),
    "principal-kind-unknown": ("error", "'{kind}' is not a principal type; use AWS or Service."),
    "principal-wildcard": (
        "error",
        "'{entry}': AWS does not match wildcards inside a principal. Use Principal "
        '"*" with a Condition ArnLike on aws:PrincipalArn instead.',
    ),
    "principal-malformed": (
        "error",
        "{entry!r} is not a principal IAM understands: use a 12-digit account id, an "
        "account root ARN (arn:aws:iam::111122223333:root) or an IAM role or user ARN "
        "(arn:aws:iam::111122223333:role/NAME).",
    ),
    "service-principal-malformed": (
        "error",
        "{entry!r} is not a service principal; they look like pullthroughcache.ecr.amazonaws.com.",
    ),
    "allow-restricts-nobody": (
        "warning",
        "This Allow names {entry}, in the registry's own account {account}, but "
        "restricts nobody there: 'If either the identity-based policy or the "
        "resource-based policy within the same account allows the request and the other "
        "doesn't, the request is still allowed' (IAM policy evaluation logic). Anyone in "
        "the account whose identity policy already grants these actions (e.g. ecr:*) keeps "
        "them. To limit who may act, add an explicit Deny for everyone else, e.g. "
        "restrict_repository_admin().",
    ),
    "allow-grants-only": (
        "info",
        "This Allow lets {entry} fill the registry (pull through cache or replication "
        "actions); it grants and does not restrict: others in account {account} whose identity "
        "policies allow these actions keep them.",
    ),
    "invalid-resource": ("error", "Resources are ARN strings, not {value!r}."),
    "resource-star": (
        "warning",
        f"Resource '*' where a repository ARN is expected: these actions act on "
        f"repositories, so write {_REPO_ARN} (or a prefix such as repository/team-a/*) to show "
        "which ones the grant covers.",
    ),
    "resource-not-arn": (
        "error",
        "'{resource}' is not an ARN; registry policy resources are repository ARNs "
        "such as arn:aws:ecr:us-east-1:111122223333:repository/*.",
    ),
    "resource-partition": (
        "error",
        "'{resource}' is in partition '{partition}', but this registry is in {expected}; the entry never matches.",
    ),
    "resource-service": (
        "error",
        "'{resource}' names the '{service}' service; a registry policy only governs ECR "
        "repositories (arn:aws:ecr:...).",
    ),
    "resource-region": (
        "error",
        "'{resource}' names Region '{region}', but this registry is in {expected}; a "
        "registry policy governs only its own Region, so the entry never applies.",
    ),
    "resource-account": (
        "error",
        "'{resource}' names account '{account}', but this registry belongs to "
        "{expected}; a registry policy governs only its own registry, so the entry never "
        "applies.",
    ),
    "resource-not-repository": (
        "error",
        "'{resource}' is not a repository ARN; ECR resources look like "
        "repository/NAME, e.g. arn:aws:ecr:us-east-1:111122223333:repository/team-a/*.",
    ),
    "invalid-condition": ("error", "{where} takes an object of {shape}."),
    "condition-operator-unknown": (
        "error",
        "'{operator}' is not an IAM condition operator, so AWS rejects the policy.{hint}",
    ),
    "condition-value": ("error", "{operator} on {key}: {value!r} does not fit; {problem}."),
    "condition-key-unknown": (
        "warning",
        "'{key}' is not a documented global condition key. A key missing from "
        "the request makes a condition false (true for negated operators), so check the "
        "spelling.",
    ),
    "condition-key-casing": (
        "info",
        "Condition keys are case-insensitive, so '{key}' works, but write it as documented: '{documented}'.",
    ),
    "condition-type": (
        "warning",
        "{operator} compares {given} values, but {key} holds {expected} values; use a {expected} operator.",
    ),
    "condition-set-single": (
        "warning",
        "{set_operator} is for keys with several values; {key} has one. "
        "ForAllValues is also true when the key is missing, which can grant more than "
        "intended; use {plain}.",
    ),
    "condition-multivalued": (
        "warning",
        "{key} can hold several values; say whether any or all must match with "
        "ForAnyValue:{operator} or ForAllValues:{operator}.",
    ),
    # Checks that evaluate the policy (shadowing) or read the live registry and account (flows, lockout,
    # principals). Each says why, the AWS rule (its page is in SOURCES) and how to fix it.
    "grant-shadowed": (
        "error",
        "{allow} grants {grant}, but the Deny {deny} overrides all of it: an explicit Deny in any policy "
        "overrides every Allow, so this grant does nothing. Exempt its principals in the Deny's Condition "
        "(ArnNotLike aws:PrincipalArn) or narrow the Deny's Action or Resource; from_intents() composes "
        "the intents this way.",
    ),
    "grant-partly-shadowed": (
        "warning",
        "{allow} grants {grant}, but the Deny {deny} overrides it for {cells}: an explicit Deny overrides "
        "every Allow, so that part of the grant does nothing. Exempt them in the Deny's Condition or narrow "
        "the Deny, if they should have it.",
    ),
    "flow-blocked": (
        "error",
        "The Deny {deny} blocks {flow}: {rule}, and {who} would be refused {action} on {resource}. "
        "Exempt them in the Deny's Condition (ArnNotLike aws:PrincipalArn), or name them as "
        "{intent} in from_intents(), which composes the exemption.",
    ),
    "lockout": (
        "error",
        "After this policy no principal that exists in account {account} can {actions} (Deny {deny}); "
        "today {able} can. A registry policy is enforced for every ECR action under REGISTRY_POLICY_SCOPE V2 "
        "and an explicit Deny overrides every Allow, so nobody could repair the policy (whether the root user "
        "still can is UNCONFIRMED [U29]). Keep an existing admin role exempt, or drop these actions from the Deny.",
    ),
    "admins-locked-out": (
        "error",
        "After this policy no principal that exists in account {account} can {actions} (Deny {deny}); today "
        "{able} can. The principals the Deny exempts do not exist yet, or their identity policies do not "
        "allow these actions, so nobody could administer repositories. Create the admin role first (or fix "
        "its name), then apply.",
    ),
    "caller-locked-out": (
        "error",
        "The caller applying this policy, {caller}, can {action} today and could not after it (Deny {deny}): "
        "applying it locks you out of the registry policy. Exempt {principal} in the Deny's Condition, or "
        "apply as a principal the policy exempts.",
    ),
    "caller-loses-access": (
        "warning",
        "The caller applying this policy, {caller}, loses {actions} (Deny {deny}); make sure that is meant.",
    ),
    "principal-not-found": (
        "warning",
        "{entry} names a {kind} that does not exist in account {account} (IAM lists no such {kind}). As a "
        "Principal, IAM refuses or keeps a unique ID that a later role of the same name does not match; in "
        "an aws:PrincipalArn condition it matches nobody today and whoever creates that name tomorrow. Fix "
        "the name or create the {kind} first.",
    ),
}

_EVALUATION = "https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic.html"
# The AWS page each evaluating or live check follows.
SOURCES: dict[str, str] = {
    "grant-shadowed": _EVALUATION,
    "grant-partly-shadowed": _EVALUATION,
    "flow-blocked": "https://docs.aws.amazon.com/AmazonECR/latest/userguide/pull-through-cache-iam.html, "
    "https://docs.aws.amazon.com/AmazonECR/latest/userguide/replication.html",
    "lockout": "https://docs.aws.amazon.com/AmazonECR/latest/userguide/registry-permissions.html, " + _EVALUATION,
    "admins-locked-out": _EVALUATION,
    "caller-locked-out": "https://docs.aws.amazon.com/AmazonECR/latest/userguide/registry-permissions.html, "
    + _EVALUATION,
    "caller-loses-access": _EVALUATION,
    "principal-not-found": "https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_principal.html",
    "allow-restricts-nobody": _EVALUATION,
}


@dataclass(frozen=True)
class Finding:
    """One problem: how bad, a stable code, what to do about it, and where (e.g. `Statement[1].Action[2]`).

    `source` is the AWS documentation the check follows, where it has one page to cite.
    """

    severity: Severity
    code: str
    message: str
    path: str
    source: str = ""


def finding(code: str, path: str, **fields: Any) -> Finding:
    """The finding for `code` at `path`, its message filled in from `fields`."""
    severity, template = MESSAGES[code]
    return Finding(severity, code, template.format(**fields), path, SOURCES.get(code, ""))
