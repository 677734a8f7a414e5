"""IAM condition operators: their grammar, the global context keys, and compiled tests.

The linter uses the grammar and value parsers to explain mistakes; the simulator compiles each
operator/key pair once into a `ConditionTest`. Semantics follow the IAM reference: values for one
key are OR'd (NOR for negated operators), keys and operators are AND'd, a key missing from the
request makes a condition false except for negated operators, `...IfExists` and `Null`, and
`ForAllValues`/`ForAnyValue` compare every request value against the policy values.
"""

from __future__ import annotations

import ipaddress
import operator as op
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from ecrlab.errors import ValidationError
from ecrlab.permissions.patterns import arn_regex, glob_regex, split_arn

# base operator -> (value type, negated, comparison)
_OPERATORS: dict[str, tuple[str, bool, str]] = {
    "StringEquals": ("String", False, "eq"),
    "StringNotEquals": ("String", True, "eq"),
    "StringEqualsIgnoreCase": ("String", False, "eq_ic"),
    "StringNotEqualsIgnoreCase": ("String", True, "eq_ic"),
    "StringLike": ("String", False, "like"),
    "StringNotLike": ("String", True, "like"),
    "NumericEquals": ("Numeric", False, "eq"),
    "NumericNotEquals": ("Numeric", True, "eq"),
    "NumericLessThan": ("Numeric", False, "lt"),
    "NumericLessThanEquals": ("Numeric", False, "le"),
    "NumericGreaterThan": ("Numeric", False, "gt"),
    "NumericGreaterThanEquals": ("Numeric", False, "ge"),
    "DateEquals": ("Date", False, "eq"),
    "DateNotEquals": ("Date", True, "eq"),
    "DateLessThan": ("Date", False, "lt"),
    "DateLessThanEquals": ("Date", False, "le"),
    "DateGreaterThan": ("Date", False, "gt"),
    "DateGreaterThanEquals": ("Date", False, "ge"),
    "Bool": ("Bool", False, "eq"),
    "BinaryEquals": ("Binary", False, "eq"),
    "IpAddress": ("Ip", False, "in"),
    "NotIpAddress": ("Ip", True, "in"),
    "ArnEquals": ("Arn", False, "like"),
    "ArnLike": ("Arn", False, "like"),
    "ArnNotEquals": ("Arn", True, "like"),
    "ArnNotLike": ("Arn", True, "like"),
    "Null": ("Null", False, "null"),
}
BASE_OPERATORS = tuple(_OPERATORS)
_GRAMMAR = re.compile(r"(?:(ForAnyValue|ForAllValues):)?(\w+?)(IfExists)?")

# Global keys (IAM "AWS global condition context keys"), grouped by the operator types that fit them.
_KEYS_BY_TYPE = {
    ("Arn", "String"): "aws:PrincipalArn aws:SourceArn",
    ("Bool",): "aws:PrincipalIsAWSService aws:AssumedRoot aws:MultiFactorAuthPresent aws:ViaAWSService "
    "aws:SecureTransport",
    ("Date",): "aws:TokenIssueTime aws:CurrentTime",
    ("Date", "Numeric"): "aws:EpochTime",
    ("Numeric",): "aws:MultiFactorAuthAge",
    ("Ip",): "aws:SourceIp aws:VpcSourceIp aws:Ec2InstanceSourcePrivateIPv4",
    ("String",): "aws:PrincipalAccount aws:PrincipalOrgID aws:PrincipalOrgPaths aws:PrincipalTag/ "
    "aws:PrincipalServiceName aws:PrincipalServiceNamesList aws:PrincipalType aws:userid aws:username "
    "aws:FederatedProvider aws:Ec2InstanceSourceVpc aws:SourceIdentity aws:SourceVpc aws:SourceVpce "
    "aws:VpceAccount aws:VpceOrgID aws:VpceOrgPaths aws:ResourceAccount aws:ResourceOrgID "
    "aws:ResourceOrgPaths aws:ResourceTag/ aws:CalledVia aws:CalledViaFirst aws:CalledViaLast "
    "aws:RequestedRegion aws:RequestTag/ aws:TagKeys aws:SourceAccount aws:SourceOrgID aws:SourceOrgPaths "
    "aws:UserAgent aws:Referer",
}
GLOBAL_KEYS = {key: types for types, keys in _KEYS_BY_TYPE.items() for key in keys.split()}
# Keys that carry several values in one request; compare them with ForAnyValue/ForAllValues.
MULTIVALUED_KEYS = frozenset(
    {
        "aws:tagkeys",
        "aws:principalorgpaths",
        "aws:calledvia",
        "aws:principalservicenameslist",
        "aws:resourceorgpaths",
        "aws:sourceorgpaths",
        "aws:vpceorgpaths",
    }
)
_GLOBAL_BY_LOWER = {k.lower(): k for k in GLOBAL_KEYS}


@dataclass(frozen=True)
class Operator:
    """A parsed condition operator such as `ForAllValues:StringNotLikeIfExists`."""

    name: str
    value_type: str
    negated: bool
    comparison: str
    if_exists: bool
    set_operator: str | None


def parse_operator(text: str) -> Operator | None:
    """Parse an operator; None if IAM does not know it (or it combines parts IAM does not allow)."""
    found = _GRAMMAR.fullmatch(text)
    if not found or found.group(2) not in _OPERATORS:
        return None
    set_operator, base, if_exists = found.groups()
    value_type, negated, comparison = _OPERATORS[base]
    if base == "Null" and (if_exists or set_operator):
        return None
    return Operator(base, value_type, negated, comparison, bool(if_exists), set_operator)


def global_key(key: str) -> str | None:
    """The documented spelling of an `aws:` key (tag keys keep their suffix), or None if unknown."""
    lower = key.lower()
    if lower in _GLOBAL_BY_LOWER:
        return _GLOBAL_BY_LOWER[lower]
    prefix, slash, tag = key.partition("/")
    documented = _GLOBAL_BY_LOWER.get(prefix.lower() + "/") if slash else None
    return documented + tag if documented else None


def key_types(key: str) -> tuple[str, ...] | None:
    """Operator value types that suit a global key, or None when the key is not a known global key."""
    documented = global_key(key)
    if documented is None:
        return None
    return GLOBAL_KEYS.get(documented) or GLOBAL_KEYS[documented.split("/")[0] + "/"]


def as_strings(value: Any) -> tuple[str, ...]:
    """A condition or context value as IAM compares it: a tuple of strings (JSON booleans as true/false)."""
    items = value if isinstance(value, list | tuple) else [value]
    return tuple(str(v).lower() if isinstance(v, bool) else str(v) for v in items)


def parse_number(text: str) -> float | None:
    try:
        return float(text)
    except ValueError:
        return None


def parse_date(text: str) -> float | None:
    """Seconds since the epoch from ISO 8601 or epoch-seconds text, as IAM's Date operators accept."""
    number = parse_number(text)
    if number is not None:
        return number
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()
    except ValueError:
        return None


def _parse_ip(text: str) -> ipaddress.IPv4Network | ipaddress.IPv6Network | None:
    try:
        return ipaddress.ip_network(text, strict=False)
    except ValueError:
        return None


def _within(
    ip: ipaddress.IPv4Network | ipaddress.IPv6Network, network: ipaddress.IPv4Network | ipaddress.IPv6Network
) -> bool:
    """Whether ip lies in network; an address never lies in a network of the other IP version."""
    if isinstance(ip, ipaddress.IPv4Network) and isinstance(network, ipaddress.IPv4Network):
        return ip.subnet_of(network)
    if isinstance(ip, ipaddress.IPv6Network) and isinstance(network, ipaddress.IPv6Network):
        return ip.subnet_of(network)
    return False


def value_problem(operator: Operator, value: str) -> str | None:
    """Why a policy value can never work with this operator, or None if it is well-formed."""
    kind = operator.value_type
    if kind in ("Bool", "Null") and value.lower() not in ("true", "false"):
        return f"{operator.name} compares against 'true' or 'false'"
    if kind == "Numeric" and parse_number(value) is None:
        return "Numeric operators need a number"
    if kind == "Date" and parse_date(value) is None:
        return "Date operators need an ISO 8601 date-time (2025-01-31T12:00:00Z) or epoch seconds"
    if kind == "Ip" and _parse_ip(value) is None:
        return "IP address operators need an IP address or CIDR block such as 203.0.113.0/24"
    if kind == "Arn" and value != "*" and split_arn(value) is None:
        return "ARN operators need a value shaped like arn:partition:service:region:account:resource"
    return None


_ORDER: dict[str, Callable[[float, float], bool]] = {
    "eq": op.eq,
    "lt": op.lt,
    "le": op.le,
    "gt": op.gt,
    "ge": op.ge,
}


def _matcher(operator: Operator, values: tuple[str, ...]) -> Callable[[str], object]:
    """A test of one request value against every policy value, in the operator's positive form."""
    kind, comparison = operator.value_type, operator.comparison
    if kind == "Arn":
        return arn_regex(values).fullmatch
    if comparison == "like":
        return glob_regex(values).fullmatch
    if comparison == "eq_ic" or kind == "Bool":
        lowered = frozenset(v.lower() for v in values)
        return lambda v: v.lower() in lowered
    if kind in ("Numeric", "Date"):
        parse = parse_number if kind == "Numeric" else parse_date
        limits = [n for n in map(parse, values) if n is not None]
        compare = _ORDER[comparison]
        return lambda v: (n := parse(v)) is not None and any(compare(n, limit) for limit in limits)
    if kind == "Ip":
        networks = [n for n in map(_parse_ip, values) if n is not None]
        return lambda v: (ip := _parse_ip(v)) is not None and any(_within(ip, n) for n in networks)
    return frozenset(values).__contains__


@dataclass(frozen=True)
class ConditionTest:
    """One operator applied to one context key, compiled for repeated evaluation."""

    key: str
    operator: Operator
    values: tuple[str, ...]
    match: Callable[[str], object]

    def __call__(self, context: Mapping[str, tuple[str, ...]]) -> bool:
        present = context.get(self.key)
        operator = self.operator
        if operator.value_type == "Null":
            return any((v.lower() == "true") == (not present) for v in self.values)
        if not present:
            if operator.if_exists or operator.set_operator == "ForAllValues":
                return True
            return operator.negated and operator.set_operator is None
        if operator.set_operator == "ForAllValues":
            return all(bool(self.match(v)) != operator.negated for v in present)
        if operator.set_operator == "ForAnyValue":
            return any(bool(self.match(v)) != operator.negated for v in present)
        return any(self.match(v) for v in present) != operator.negated


def compile_condition(block: Any, where: str = "Condition") -> tuple[ConditionTest, ...]:
    """Compile a Condition element; raises ValidationError naming the offending operator or key."""
    if not isinstance(block, Mapping):
        raise ValidationError(where, block, "must be an object of operator -> {key: value(s)}")
    tests = []
    for name, pairs in block.items():
        operator = parse_operator(name)
        if operator is None:
            raise ValidationError(f"{where}.{name}", name, "is not an IAM condition operator")
        if not isinstance(pairs, Mapping):
            raise ValidationError(f"{where}.{name}", pairs, "must be an object of key -> value(s)")
        for key, value in pairs.items():
            values = as_strings(value)
            tests.append(ConditionTest(key.lower(), operator, values, _matcher(operator, values)))
    return tuple(tests)
