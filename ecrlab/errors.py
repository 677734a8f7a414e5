"""The errors ecrlab raises: each one says what went wrong and what to do next."""

from __future__ import annotations

from typing import Any


class EcrlabError(Exception):
    """Base class: every ecrlab error is safe to show to a learner as one line."""


class ValidationError(EcrlabError, ValueError):
    """A value broke a rule; names the field, the value and the rule so forms can highlight the field."""

    def __init__(self, field: str, value: Any, rule: str) -> None:
        self.field = field
        self.value = value
        self.rule = rule
        super().__init__(f"{field}: {value!r} is invalid: {rule}")


class GuardError(EcrlabError):
    """A safety guard refused to write (wrong account, missing expected account id)."""


class ApplyError(EcrlabError):
    """A change failed mid-apply; says which changes were applied and which were not."""

    def __init__(self, message: str, applied: list[Any], failed: Any, pending: list[Any]) -> None:
        self.applied = applied
        self.failed = failed
        self.pending = pending
        super().__init__(message)


class VerificationError(EcrlabError):
    """After applying, re-reading the registry did not show the desired state."""


class RegistryError(EcrlabError):
    """A registry refused or failed an image transfer; `code` is the OCI error code when it sent one."""

    def __init__(self, message: str, code: str = "", status: int = 0) -> None:
        self.code = code
        self.status = status
        super().__init__(message)


class AuthenticationError(RegistryError):
    """The registry did not accept the credentials (missing, expired after 12 hours, or for another registry)."""


class AccessDeniedError(RegistryError):
    """Authenticated, but a policy does not allow the action on that repository."""


class RepositoryNotFoundError(RegistryError):
    """The repository does not exist in that registry."""


class ImageNotFoundError(RegistryError):
    """No image with that tag or digest in the repository."""


class ImmutableTagError(RegistryError):
    """The tag exists and the repository's tags are immutable."""
