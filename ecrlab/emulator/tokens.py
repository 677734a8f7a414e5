"""GetAuthorizationToken and the registry passwords it hands out, for the emulator's `/v2/` data plane.

A password names who asked (the principal and its account), which registry (account + region) the client
addresses by default, and when it expires (12 hours later on the emulator clock, as on AWS), signed with an
HMAC key that lives as long as the process. Everything runs on one loopback address, so the token, not the
hostname, says which registry a client talks to: `aws ecr get-login-password --region eu-west-1` with
credentials of account B yields a password for B's eu-west-1 registry, and `registryIds=[A]` one for A's
(whether B may then read A's repositories is up to A's policies, as on AWS). A client may also name the
registry in the Host, `<account>.dkr.ecr.<region>.localhost:<port>`, which then wins over the token's.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
import secrets
from dataclasses import asdict, dataclass
from datetime import timedelta
from typing import Any

from ecrlab.emulator.clock import emulator_now
from ecrlab.emulator.extension import Call, operation

TOKEN_LIFETIME = timedelta(hours=12)
USER = "AWS"
_KEY = secrets.token_bytes(32)
_PREFIX = "ecrlab1"
REGISTRY_HOST = re.compile(r"^(?P<account>\d{12})\.dkr\.ecr\.(?P<region>[a-z0-9-]+)\.localhost(?::\d+)?$")


class TokenRejected(Exception):
    """The password is not one this emulator issued, or it has expired; `reason` says which."""

    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(reason)


@dataclass(frozen=True)
class Login:
    """What a registry password stands for."""

    principal: str  # the caller's ARN
    account: str  # the registry it addresses unless the Host names another
    region: str
    expires: int  # epoch seconds


def signing_key() -> bytes:
    """The key that signs passwords and download URLs; `--data-dir` keeps it so logins survive a restart."""
    return _KEY


def use_signing_key(key: bytes) -> None:
    """Sign and verify with `key` (a saved `signing_key()`) from now on."""
    global _KEY
    _KEY = key


def sign(message: str) -> str:
    """An HMAC of `message` with the process key (also signs layer download URLs)."""
    return hmac.new(_KEY, message.encode(), hashlib.sha256).hexdigest()


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def issue_password(login: Login) -> str:
    payload = _b64(json.dumps(asdict(login), separators=(",", ":")).encode())
    return f"{_PREFIX}.{payload}.{sign(payload)}"


def verify_password(password: str) -> Login:
    """The login a password stands for; raises `TokenRejected` when it is forged, garbled or expired."""
    parts = password.split(".")
    if len(parts) != 3 or parts[0] != _PREFIX or not hmac.compare_digest(parts[2], sign(parts[1])):
        raise TokenRejected("the password is not an authorization token issued by this emulator")
    try:
        login = Login(**json.loads(base64.urlsafe_b64decode(parts[1] + "=" * (-len(parts[1]) % 4))))
    except (ValueError, TypeError) as exc:
        raise TokenRejected("the authorization token is malformed") from exc
    if emulator_now().timestamp() >= login.expires:
        raise TokenRejected("Your authorization token has expired. Reauthenticate and try again.")
    return login


def basic_credentials(authorization: str) -> str | None:
    """The password of an `Authorization: Basic` header for user AWS, or None."""
    scheme, _, encoded = authorization.partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        user, _, password = base64.b64decode(encoded.strip(), validate=True).decode().partition(":")
    except (ValueError, UnicodeDecodeError):
        return None
    return password if user == USER else None


def addressed_registry(host: str, login: Login) -> tuple[str, str]:
    """(account, region) a request addresses: the Host's when it names a registry, else the token's."""
    match = REGISTRY_HOST.match(host)
    return (match["account"], match["region"]) if match else (login.account, login.region)


def _iam_principal(arn: str) -> str:
    """moto names a caller it issued no key to `sts::<account>:user/moto`: the account root, in IAM terms."""
    partition, account = arn.split(":")[1], arn.split(":")[4]
    return f"arn:{partition}:iam::{account}:root" if arn.endswith(":user/moto") else arn


@operation(
    "GetAuthorizationToken",
    "signed 12-hour token for the caller and registry; proxyEndpoint is the emulator's own address",
    replaces_native=True,
)
def get_authorization_token(call: Call) -> dict[str, Any]:
    """moto hands out a fixed password and an AWS proxyEndpoint; clients need ones that work here."""
    principal = _iam_principal(call.principal)
    expires = emulator_now() + TOKEN_LIFETIME
    data = []
    for registry_id in call.params.get("registryIds") or [call.account_id]:
        login = Login(principal, registry_id, call.region, int(expires.timestamp()))
        token = base64.b64encode(f"{USER}:{issue_password(login)}".encode()).decode()
        data.append({"authorizationToken": token, "expiresAt": expires, "proxyEndpoint": f"http://{call.host}"})
    return {"authorizationData": data}
