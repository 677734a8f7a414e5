"""`Registry`: the handle every ecrlab function takes — boto3 clients, account, region, emulator knobs."""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
from botocore.config import Config

from ecrlab.control_client import ControlClient
from ecrlab.ecr_model import new_botocore_session
from ecrlab.errors import EcrlabError, ValidationError

DEMO_ACCOUNT_ID = "123456789012"
DEMO_REGION = "us-east-1"
# moto maps any access key it did not issue to its default account, which is the demo account.
DEMO_CREDENTIALS = {"aws_access_key_id": "AKIAECRLABDEMO000000", "aws_secret_access_key": "ecrlab-demo"}
TARGETS = ("emulator", "aws")
# Throttling and 5xx are retried the same way against AWS and the emulator, in the mode the AWS SDKs recommend:
# "standard" is safe for multi-tenant use, "adaptive" only for specialised cases (AWS SDKs and Tools reference guide,
# Retry behavior: https://docs.aws.amazon.com/sdkref/latest/guide/feature-retry-behavior.html). Adaptive mode's
# client-side limiter also counts ECR's quota answer (LimitExceededException) as throttling and slowed every later
# call of the client: 1.4 s in the scanning lesson after the one-scan-a-day quota.
CLIENT_CONFIG = Config(retries={"mode": "standard", "max_attempts": 8})
# A registry token is reused only while it has at least this long left (tokens last 12 hours), so a transfer that
# starts on a reused token still has hours before it expires.
TOKEN_MIN_LIFE = timedelta(hours=1)


def _quota_is_not_throttling(response: Any = None, **_: Any) -> bool | None:
    """botocore retries LimitExceededException as throttling; ECR sends it for quotas (one scan per 24 h, rule
    limits), which no retry can lift, so answer at once. ECR's throttling is ThrottlingException."""
    if response is not None and response[1].get("Error", {}).get("Code") == "LimitExceededException":
        return False
    return None


class EmulatorControl(ControlClient):
    """The emulator's knobs that AWS does not have (its clock, a reset), reached over HTTP like the API.

    They need the server's control token (`ecrlab.control_token`): given, else found for `endpoint_url`.
    """

    def _post(self, action: str, body: dict[str, Any] | None = None) -> Any:
        return self.call("POST", f"/_ecrlab/{action}", body or {})

    def now(self) -> datetime:
        """Current time on the emulator's clock."""
        return datetime.fromisoformat(self._post("status")["now"])

    def advance(self, **delta: float) -> datetime:
        """Move the emulator clock forward, e.g. `advance(hours=24)`; returns the new time."""
        return datetime.fromisoformat(
            self._post("clock", {"advance_seconds": timedelta(**delta).total_seconds()})["now"]
        )

    def freeze(self, at: datetime | None = None) -> datetime:
        """Stop the clock (at the workshop start by default) for reproducible outputs."""
        return datetime.fromisoformat(self._post("clock", {"freeze": at.isoformat() if at else None})["now"])

    def reset(self) -> None:
        """Forget all emulator state (every account and region)."""
        self._post("reset")

    def settle(self, within: timedelta | None = None) -> int:
        """Finish now the work AWS does in the background (replications, backfills, daily lifecycle runs); returns
        how many jobs ran. With `within`, only the work due that much later on the emulator clock, as a client that
        waits that long on AWS would see done (the clock does not move).

        Otherwise that work completes 10 seconds after it was queued on the emulator clock, which under the frozen
        workshop clock means never: lessons settle to get the same answer every run.
        """
        body = {} if within is None else {"within_seconds": within.total_seconds()}
        return self._post("settle", body)["settled"]

    def inject_fault(self, operation: str, error: str = "ThrottlingException", count: int = 1) -> dict[str, int]:
        """Make the next `count` calls of `operation` fail with `error` (throttling or 5xx); returns what is pending."""
        return self._post("faults", {"operation": operation, "error": error, "count": count})["faults"]

    def pending_faults(self) -> dict[str, int]:
        return self._post("status")["faults"]

    def publish_advisories(self, records: list[dict[str, Any]]) -> int:
        """Add OSV records to the emulator's vulnerability feed, as a feed update would; returns how many images
        Amazon Inspector rescanned (ENHANCED, CONTINUOUS_SCAN: findings change with no scan call; basic and on-push
        findings change only with a new scan). A lesson needs a CVE published *after* its images were scanned.

        A malformed record refuses the whole list with a `ValidationError` naming its field.
        """
        return self._post("advisories", {"records": records})["rescanned"]


@dataclass
class Registry:
    """One ECR registry (account + region) reached through boto3, on AWS or on the emulator."""

    target: str
    session: boto3.Session
    region: str
    endpoint_url: str | None = None
    emulator: EmulatorControl | None = None
    _clients: dict[tuple[str, str], Any] = field(default_factory=dict, repr=False)
    _identity: dict[str, str] | None = field(default=None, repr=False)
    _tokens: dict[str | None, dict[str, Any]] = field(default_factory=dict, init=False, repr=False, compare=False)

    def client(self, service: str = "ecr", region: str | None = None) -> Any:
        """A cached boto3 client for `service` in `region` (default: this registry's region)."""
        key = (service, region or self.region)
        if key not in self._clients:
            client = self.session.client(
                service, region_name=key[1], endpoint_url=self.endpoint_url, config=CLIENT_CONFIG
            )
            if service == "ecr":
                client.meta.events.register_first("needs-retry.ecr", _quota_is_not_throttling)
            if os.environ.get("ECRLAB_RECORD_CALLS"):
                from ecrlab.iam_policy import record_calls

                record_calls(client)
            self._clients[key] = client
        return self._clients[key]

    def _caller(self) -> dict[str, str]:
        if self._identity is None:
            self._identity = self.client("sts").get_caller_identity()
        return self._identity

    @property
    def account_id(self) -> str:
        return self._caller()["Account"]

    @property
    def caller_arn(self) -> str:
        return self._caller()["Arn"]

    def authorization(self, registry_id: str | None = None) -> dict[str, Any]:
        """GetAuthorizationToken's data (token, expiresAt, proxyEndpoint) for `registry_id`, default this account's.

        Reused across pushes and pulls through this handle, as docker credential helpers do, while it has
        `TOKEN_MIN_LIFE` left on the registry's clock; a new one is asked for after that. Raises botocore's errors.
        """
        held = self._tokens.get(registry_id)
        if held is None or not self._still_valid(held["expiresAt"]):
            ids = {"registryIds": [registry_id]} if registry_id else {}
            held = self.client().get_authorization_token(**ids)["authorizationData"][0]
            self._tokens[registry_id] = held
        return held

    def _still_valid(self, expires: datetime) -> bool:
        """Whether a token expiring at `expires` has `TOKEN_MIN_LIFE` left on the clock that checks it: AWS's is the
        wall clock, the emulator's its own (frozen in the lessons, moved by `advance`), read from it each time."""
        if self.emulator is None:
            return datetime.now(UTC) + TOKEN_MIN_LIFE < expires
        try:
            return self.emulator.now() + TOKEN_MIN_LIFE < expires
        except EcrlabError:  # its control token is not ours: its clock is unknown, so ask for a new token
            return False

    def in_region(self, region: str) -> Registry:
        """The same account's registry in another region (registries are regional)."""
        return Registry(self.target, self.session, region, self.endpoint_url, self.emulator)

    def assume_role(self, role_arn: str, session_name: str = "ecrlab") -> Registry:
        """Act as another principal: the registry as seen with `role_arn`'s temporary credentials."""
        creds = self.client("sts").assume_role(RoleArn=role_arn, RoleSessionName=session_name)["Credentials"]
        session = new_session(
            aws_access_key_id=creds["AccessKeyId"],
            aws_secret_access_key=creds["SecretAccessKey"],
            aws_session_token=creds["SessionToken"],
            region_name=self.region,
        )
        return Registry(self.target, session, self.region, self.endpoint_url, self.emulator)

    def summary(self) -> dict[str, str]:
        """Who and where, for the top of a notebook or an audit record."""
        return {
            "target": self.target,
            "account_id": self.account_id,
            "region": self.region,
            "caller": self.caller_arn,
        }


def new_session(**options: Any) -> boto3.Session:
    """A boto3 session on the process's shared botocore data loader (models and endpoints parsed once)."""
    return boto3.Session(botocore_session=new_botocore_session(), **options)


_embedded_lock = threading.Lock()
_embedded_url: str | None = None


def embedded_emulator_url() -> str:
    """Start (once per process) the emulator server on a free loopback port in a daemon thread.

    Its control token stays in this process (`ecrlab.control_token.find` answers it for this URL).
    """
    global _embedded_url
    with _embedded_lock:
        if _embedded_url is None:
            from ecrlab.emulator.clock import WORKSHOP_START, Clock
            from ecrlab.emulator.server import EmulatorServer

            _embedded_url = EmulatorServer(clock=Clock(frozen_at=WORKSHOP_START)).start().url
        return _embedded_url


def connect(
    target: str = "emulator",
    *,
    profile: str | None = None,
    region: str | None = None,
    endpoint_url: str | None = None,
    control_token: str | None = None,
) -> Registry:
    """Connect to a registry.

    `connect()` starts the embedded emulator (demo account 123456789012, us-east-1, frozen workshop clock);
    `connect(endpoint_url=URL)` uses a running `ecrlab emulator serve`, whose knobs (clock, reset, faults,
    upstreams) need its control token: `control_token=`, else `$ECRLAB_CONTROL_TOKEN` (the API and `/v2/` do
    not need it); `connect("aws", profile=, region=)` uses the default boto3 credential chain, which also honours
    `AWS_ENDPOINT_URL`.
    """
    if target not in TARGETS:
        raise ValidationError("target", target, f"must be one of {', '.join(TARGETS)}")
    if target == "aws":
        session = new_session(profile_name=profile, region_name=region)
        if not session.region_name:
            raise ValidationError("region", region, "give a region or configure one in your AWS profile")
        return Registry("aws", session, session.region_name, endpoint_url)
    url = endpoint_url or embedded_emulator_url()
    session = new_session(region_name=region or DEMO_REGION, **DEMO_CREDENTIALS)
    return Registry("emulator", session, region or DEMO_REGION, url, EmulatorControl(url, control_token))
