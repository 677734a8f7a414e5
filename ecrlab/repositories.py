"""Repositories as a plannable spec, and the registry's inventory as a DataFrame."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ecrlab.ecr_model import check
from ecrlab.plan import Plan, Setting, make_plan, setting_kind

if TYPE_CHECKING:
    import pandas as pd

    from ecrlab.registry import Registry

INVENTORY_COLUMNS = ["repository", "uri", "tag_mutability", "encryption", "created_at"]


@dataclass(frozen=True)
class RepositorySpec:
    """A repository created by hand, with the settings a manual CreateRepository takes."""

    name: str
    image_tag_mutability: str = "MUTABLE"
    encryption_type: str = "AES256"

    def __post_init__(self) -> None:
        check("RepositoryName", "name", self.name)
        check("ImageTagMutability", "image_tag_mutability", self.image_tag_mutability)
        check("EncryptionType", "encryption_type", self.encryption_type)

    def settings(self) -> dict[str, str]:
        return {"imageTagMutability": self.image_tag_mutability, "encryptionType": self.encryption_type}


def _describe(registry: Registry, name: str) -> dict[str, Any] | None:
    ecr = registry.client()
    try:
        return ecr.describe_repositories(repositoryNames=[name])["repositories"][0]
    except ecr.exceptions.RepositoryNotFoundException:
        return None


@setting_kind("repository")
def repository(name: str) -> Setting:
    def read(registry: Registry) -> dict[str, str] | None:
        repo = _describe(registry, name)
        if repo is None:
            return None
        return {
            "imageTagMutability": repo["imageTagMutability"],
            "encryptionType": repo["encryptionConfiguration"]["encryptionType"],
        }

    def write(registry: Registry, value: dict[str, str] | None) -> None:
        ecr = registry.client()
        current = read(registry)
        if value is None:
            ecr.delete_repository(repositoryName=name)
        elif current is None:
            ecr.create_repository(
                repositoryName=name,
                imageTagMutability=value["imageTagMutability"],
                encryptionConfiguration={"encryptionType": value["encryptionType"]},
            )
        elif current["encryptionType"] != value["encryptionType"]:
            # AWS cannot change a repository's encryption after creation; say so instead of half-applying.
            raise ValueError(
                f"repository {name}: encryption cannot change after creation "
                f"({current['encryptionType']} → {value['encryptionType']}); recreate it"
            )
        else:
            ecr.put_image_tag_mutability(repositoryName=name, imageTagMutability=value["imageTagMutability"])

    return Setting("repository", name, read, write)


def plan(registry: Registry, *specs: RepositorySpec) -> Plan:
    return make_plan(registry, [(repository(spec.name), spec.settings()) for spec in specs])


def inventory(registry: Registry) -> pd.DataFrame:
    """Every repository of the registry, one row each, with stable columns sorted by name."""
    import pandas as pd

    rows = [
        {
            "repository": repo["repositoryName"],
            "uri": repo["repositoryUri"],
            "tag_mutability": repo["imageTagMutability"],
            "encryption": repo["encryptionConfiguration"]["encryptionType"],
            "created_at": repo["createdAt"],
        }
        for page in registry.client().get_paginator("describe_repositories").paginate()
        for repo in page["repositories"]
    ]
    return pd.DataFrame(rows, columns=INVENTORY_COLUMNS).sort_values("repository", ignore_index=True)
