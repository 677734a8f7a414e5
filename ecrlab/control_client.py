"""The one HTTP client for an emulator's control endpoints (`/_ecrlab/*` and `/_upstreams/`): it sends the server's
control token and turns the emulator's refusals into `ValidationError`s that say what to fix.

`EmulatorControl` (the clock, reset, faults, advisories) and `Upstreams` (the stand-in upstreams' knobs) both call
through it, so a refused token reads the same from either. No moto import here: `ecrlab.connect()` uses this module.
"""

from __future__ import annotations

import json
from typing import Any

import urllib3

from ecrlab import control_token
from ecrlab.errors import EcrlabError, ValidationError

_HTTP = urllib3.PoolManager(timeout=urllib3.Timeout(total=30))


class ControlClient:
    """An emulator's control endpoints at `endpoint_url`, opened with its control token (`ecrlab.control_token`):
    given, else found for `endpoint_url`."""

    def __init__(self, endpoint_url: str, token: str | None = None) -> None:
        self.endpoint_url = endpoint_url.rstrip("/")
        self.token = control_token.find(self.endpoint_url, token)

    @property
    def headers(self) -> dict[str, str]:
        """The header that opens the server's control endpoints."""
        return {control_token.HEADER: self.token} if self.token else {}

    def call(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        """`method` on `path` (e.g. `/_ecrlab/clock`) with a JSON body; the JSON answer.

        A refused token (403) is a `ValidationError` on `control_token` naming where to find it; a refused value
        (400) one on the field the emulator names.
        """
        response = _HTTP.request(
            method,
            self.endpoint_url + path,
            body=json.dumps(body).encode() if body is not None else None,
            headers={"Content-Type": "application/json", **self.headers},
        )
        if response.status == 200:
            return json.loads(response.data)
        if response.status == 403:
            raise ValidationError(
                "control_token",
                "(none)" if not self.token else "(given)",
                f"the emulator at {self.endpoint_url} refused it: pass connect(control_token=...) or set "
                f"${control_token.ENV} to the token `ecrlab emulator serve` printed",
            )
        if response.status == 400:
            refusal = json.loads(response.data)
            raise ValidationError(
                refusal.get("field", "control"), refusal.get("value", body), refusal.get("rule") or refusal["message"]
            )
        raise EcrlabError(f"the emulator at {self.endpoint_url} answered {method} {path} with {response.status}")
