"""The emulator's stand-in upstream registries as a lesson turns them: rate limits, outages, moving a tag, and the
log of the emulator's own upstream requests. AWS has none of these, so `Upstreams` refuses a registry that is not
the emulator. Pulling from an upstream by URL is `images.pull(UpstreamRegistry(url), …)`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ecrlab.errors import ValidationError

if TYPE_CHECKING:
    from ecrlab.registry import Registry

# The one account every authenticated stand-in upstream of the emulator accepts (the demo keys of upstreams).
STAND_IN_CREDENTIALS = {"username": "ecrlab", "accessToken": "ecrlab-stand-in-token"}


class Upstreams:
    """The emulator's upstreams from a lesson: where each host is served, the stand-ins' knobs, the request log."""

    def __init__(self, registry: Registry) -> None:
        if registry.emulator is None:
            raise ValidationError("registry", registry.target, "upstream knobs exist only on the emulator")
        self._control = registry.emulator  # its control token opens these knobs too

    def _call(self, method: str, body: dict[str, Any] | None = None, query: str = "") -> Any:
        return self._control.call(method, f"/_upstreams/{query}", body)

    def status(self) -> dict[str, Any]:
        """Every upstream host and where it is served; each stand-in's tags, rate limit, outage and counters."""
        return self._call("GET")

    def url_of(self, host: str) -> str:
        """Where the emulator reaches `host` (its stand-in, or the registry `--upstream` mapped it to)."""
        return self.status()["hosts"][host]

    def requests(self, since: int = 0) -> list[dict[str, Any]]:
        """The emulator's own requests to upstreams after sequence number `since`, oldest first."""
        return self._call("GET", query=f"?since={since}")["requests"]

    def last_request(self) -> int:
        """The sequence number of the latest upstream request (0: none yet), to count from."""
        return self._call("GET", query="?since=-1")["last"]

    def rate_limit(self, host: str, pulls: int | None, window_hours: float = 6) -> None:
        """Let each client GET at most `pulls` manifests of `host` per window, then 429 (None: no limit)."""
        limit = None if pulls is None else {"pulls": pulls, "window_seconds": window_hours * 3600}
        self._call("POST", {"host": host, "rate_limit": limit})

    def outage(self, host: str, down: bool = True) -> None:
        """Make the stand-in `host` answer 503 to everything (`down=False` brings it back)."""
        self._call("POST", {"host": host, "down": down})

    def publish(self, host: str, repository: str, tag: str, image: str) -> None:
        """Point `repository:tag` on the stand-in `host` at a sample image (a `data/images/` layout name)."""
        self._call("POST", {"host": host, "publish": {"repository": repository, "tag": tag, "image": image}})
