"""The fidelity table is derived from the code and fails loudly when moto catches up with ecrlab."""

from __future__ import annotations

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
