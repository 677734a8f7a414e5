"""IAM wildcard and ARN matching, and who a principal is, shared by the linter and the simulator.

IAM matches `*` and `?` inside each colon-separated ARN segment, so a wildcard in the region never
swallows the account; the last segment (the resource) may contain colons and slashes and is matched
as a whole. Patterns are compiled to regular expressions once so repeated decisions stay cheap.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import lru_cache

from ecrlab.ecr_model import partition_of
from ecrlab.errors import ValidationError

ACCOUNT_ID = re.compile(r"\d{12}")
_PARTITION = r"aws(?:-[a-z]+)*"
IAM_PRINCIPAL_ARN = re.compile(
    rf"arn:{_PARTITION}:(?:iam::\d{{12}}:(?:root|user/.+|role/.+|federated-user/.+)"
    rf"|sts::\d{{12}}:(?:assumed-role/[^/]+/.+|federated-user/.+))"
)
SERVICE_PRINCIPAL = re.compile(r"[a-z0-9][a-z0-9.-]*\.amazonaws\.com(?:\.cn)?")


def _glob(text: str, star: str, one: str) -> str:
    return "".join(star if c == "*" else one if c == "?" else re.escape(c) for c in text)


def glob_regex(patterns: Iterable[str], *, ignore_case: bool = False) -> re.Pattern[str]:
    """One regex matching any of the plain glob patterns (actions, StringLike values)."""
    body = "|".join(_glob(p, ".*", ".") for p in patterns) or "(?!)"
    return re.compile(f"(?:{body})", re.DOTALL | (re.IGNORECASE if ignore_case else 0))


def _arn_glob(pattern: str) -> str:
    parts = pattern.split(":", 5)
    head = [_glob(p, "[^:]*", "[^:]") for p in parts[:-1]]
    return ":".join([*head, _glob(parts[-1], ".*", ".")])


def arn_regex(patterns: Iterable[str]) -> re.Pattern[str]:
    """One regex matching any of the ARN patterns, wildcards confined to their segment."""
    body = "|".join(_arn_glob(p) for p in patterns) or "(?!)"
    return re.compile(f"(?:{body})", re.DOTALL)


def split_arn(arn: str) -> list[str] | None:
    """The six ARN segments, or None when the text is not shaped like an ARN."""
    parts = arn.split(":", 5)
    return parts if len(parts) == 6 and parts[0] == "arn" else None


def account_root(account_id: str, partition: str = "aws") -> str:
    return f"arn:{partition}:iam::{account_id}:root"


def normalize_principal(entry: str) -> str:
    """Spell an AWS principal entry the way `Caller.chain` spells identities.

    An account id means the account principal, and IAM identifies a role by account and name, not
    by path, so `role/team/dev-role` and `role/dev-role` name the same role.
    """
    if ACCOUNT_ID.fullmatch(entry):
        return account_root(entry)
    parts = split_arn(entry)
    if parts and parts[2] == "iam" and parts[5].startswith("role/"):
        parts[5] = "role/" + parts[5].rsplit("/", 1)[1]
        return ":".join(parts)
    return entry


@dataclass(frozen=True)
class Caller:
    """Who makes a request: the identities IAM associates with it, most specific first.

    A role session is also its role and its account; an exception in `NotPrincipal` must name
    every one of them, while a `Principal` naming any one of them matches.
    """

    arn: str
    account: str | None
    chain: tuple[str, ...]
    is_root: bool = False
    is_service: bool = False
    context: dict[str, tuple[str, ...]] = field(default_factory=dict, compare=False)


@lru_cache(maxsize=4096)
def parse_caller(principal: str) -> Caller:
    """Parse a caller ARN, account id or service principal; raises ValidationError otherwise."""
    if SERVICE_PRINCIPAL.fullmatch(principal):
        return Caller(
            principal, None, (principal,), is_service=True, context={"aws:principalservicename": (principal,)}
        )
    arn = account_root(principal) if ACCOUNT_ID.fullmatch(principal) else principal
    if not IAM_PRINCIPAL_ARN.fullmatch(arn):
        raise ValidationError(
            "principal", principal, "must be an IAM or STS ARN, a 12-digit account id or a service principal"
        )
    partition, service, account, resource = (arn.split(":", 5)[i] for i in (1, 2, 4, 5))
    root = account_root(account, partition)
    principal_arn = arn
    chain: tuple[str, ...] = (root,) if arn == root else (normalize_principal(arn), root)
    if service == "sts" and resource.startswith("assumed-role/"):
        principal_arn = f"arn:{partition}:iam::{account}:role/{resource.split('/')[1]}"
        chain = (arn, principal_arn, root)
    context: dict[str, tuple[str, ...]] = {"aws:principalarn": (principal_arn,), "aws:principalaccount": (account,)}
    return Caller(arn, account, chain, is_root=arn == root, context=context)


def partition_for_region(region: str) -> str:
    """The partition of a region per botocore's endpoint data; raises ValidationError if unknown."""
    partition = partition_of(region)
    if partition is None:
        raise ValidationError("region", region, "is not a region botocore knows")
    return partition
