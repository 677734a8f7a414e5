"""The fidelity table is derived from the code and fails loudly when moto catches up with ecrlab."""

from __future__ import annotations

import pytest
from moto.core.utils import camelcase_to_underscores
from moto.ecr.responses import ECRResponse

from ecrlab.ecr_model import ecr_model
from ecrlab.emulator.coverage import EXTENDED, HOOKED, MISSING, NATIVE, OVERRIDDEN, counts, coverage, markdown, summary
from ecrlab.emulator.extension import EXTENSIONS, NATIVE_METHODS
from tests.conftest import ROOT


def test_every_model_operation_has_exactly_one_row():
    rows = coverage()
    assert sorted(row.operation for row in rows) == sorted(ecr_model().operation_names)
    assert sum(counts(rows).values()) == len(ecr_model().operation_names) == 62


def test_extended_operations_are_not_native_in_this_moto():
    # If this fails, moto now implements an operation ecrlab adds: drop the extension and re-check fidelity.
    extended = {camelcase_to_underscores(name) for name, ext in EXTENSIONS.items() if ext.kind == "operation"}
    assert extended, "ecrlab registers at least the account-setting operations"
    assert not extended & NATIVE_METHODS


def test_hooked_and_overridden_operations_are_native_in_this_moto():
    native_kinds = ("hook", "override")
    replaced = {camelcase_to_underscores(name) for name, ext in EXTENSIONS.items() if ext.kind in native_kinds}
    assert replaced <= NATIVE_METHODS


def test_table_matches_what_the_response_class_can_answer():
    for row in coverage():
        method = getattr(ECRResponse, camelcase_to_underscores(row.operation), None)
        if row.status in (NATIVE, HOOKED, OVERRIDDEN, EXTENDED):
            assert method is not None, row
        if row.status == MISSING:
            assert row.note, f"{row.operation} needs a reason"


def test_docs_table_is_current():
    assert (ROOT / "docs" / "fidelity.md").read_text() == markdown(coverage()), (
        "regenerate with: ecrlab emulator coverage --markdown > docs/fidelity.md"
    )


def test_every_unconfirmed_marker_in_the_code_names_an_entry_of_the_docs():
    """Each UNCONFIRMED reading in the code points to its entry in docs/fidelity.md (`UNCONFIRMED [U<n>]`), and
    every entry there is used; the code cites docs in the repository, never a file outside it."""
    import re

    from ecrlab.emulator.coverage import CROSS_CUTTING
    from ecrlab.emulator.sources import UNCONFIRMED

    used: set[str] = set()
    unmarked = []
    for path in sorted((ROOT / "ecrlab").rglob("*.py")):
        if path.name in ("sources.py", "coverage.py"):
            continue
        text = path.read_text()
        assert "ecr-facts" not in text, path
        for number, line in enumerate(text.splitlines(), start=1):
            if "UNCONFIRMED" in line:
                ids = re.findall(r"UNCONFIRMED \[(U\d+)\]", line)
                if not ids:
                    unmarked.append(f"{path.relative_to(ROOT)}:{number}")
                used |= set(ids)
    used |= set(re.findall(r"\b(U\d+)\b", " ".join(CROSS_CUTTING)))
    assert unmarked == []
    assert used <= set(UNCONFIRMED)
    assert set(UNCONFIRMED) - used == set()
    docs = (ROOT / "docs" / "fidelity.md").read_text()
    assert all(f"**{key}**" in docs for key in UNCONFIRMED)


@pytest.mark.parametrize(
    ("call", "member"),
    [
        (lambda ecr: ecr.create_repository(repositoryName="a" * 257), "repositoryName"),  # RepositoryName max 256
        (lambda ecr: ecr.describe_repositories(maxResults=1001), "maxResults"),  # MaxResults max 1000
        (lambda ecr: ecr.list_images(repositoryName="app", maxResults=1001), "maxResults"),
        (lambda ecr: ecr.put_registry_policy(policyText="x" * 10241), "policyText"),  # RegistryPolicyText max 10240
    ],
)
def test_moto_native_operations_get_the_models_limits_at_the_door(registry, call, member):
    """botocore validates only minimums on the client; AWS checks the model's maximums, enums and patterns on the
    server and answers ValidationException. The emulator checks every operation, moto's native ones included."""
    from botocore.exceptions import ClientError

    with pytest.raises(ClientError) as refused:
        call(registry.client())
    assert refused.value.response["Error"]["Code"] == "ValidationException"
    assert f"at '{member}' failed to satisfy constraint" in refused.value.response["Error"]["Message"]


def test_every_operation_is_emulated():
    rows = coverage()
    assert [row.operation for row in rows if row.status == MISSING] == []
    assert summary(rows).startswith("62 of 62 operations emulated")


def test_the_operations_of_the_2025_26_features_name_their_source():
    added = {
        "PutSigningConfiguration",
        "GetSigningConfiguration",
        "DeleteSigningConfiguration",
        "DescribeImageSigningStatus",
        "ListImageReferrers",
        "RegisterPullTimeUpdateExclusion",
        "DeregisterPullTimeUpdateExclusion",
        "ListPullTimeUpdateExclusions",
        "UpdateImageStorageClass",
    }
    rows = {row.operation: row for row in coverage() if row.operation in added}
    assert {name: row.status for name, row in rows.items()} == dict.fromkeys(added, EXTENDED)
    assert all("(source: API reference" in row.note for row in rows.values())
