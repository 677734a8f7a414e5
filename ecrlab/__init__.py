"""ecrlab: learn, plan and apply Amazon ECR private registry features against an emulator or real AWS.

The public surface is small on purpose: `connect()` gives a `Registry`; each feature module offers a spec,
`read`, `plan` and an audit; `ecrlab.plan.apply` writes. Heavy modules (moto, pandas, widgets) load lazily
so `import ecrlab` stays as cheap as `import boto3`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ecrlab.errors import ApplyError, EcrlabError, GuardError, ValidationError, VerificationError

__version__ = "0.1.0"

if TYPE_CHECKING:
    from pathlib import Path

    from ecrlab.registry import Registry

__all__ = [
    "ApplyError",
    "EcrlabError",
    "GuardError",
    "Registry",
    "ValidationError",
    "VerificationError",
    "__version__",
    "connect",
    "sample_images",
]


def connect(target: str = "emulator", **kwargs: Any) -> Registry:
    """Return a `Registry` handle; see `ecrlab.registry.connect` for the options."""
    from ecrlab.registry import connect as _connect

    return _connect(target, **kwargs)


def sample_images() -> Path:
    """The folder of the sample OCI image layouts that ship with ecrlab (`alpine-node`, `debian-app`, …)."""
    from ecrlab.package_data import sample_images as _sample_images

    return _sample_images()


def __getattr__(name: str) -> Any:
    if name == "Registry":
        from ecrlab.registry import Registry

        return Registry
    raise AttributeError(name)
