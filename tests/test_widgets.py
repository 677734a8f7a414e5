"""Widget forms: inline errors at the field, plan and apply through the same engine as runbooks."""

from __future__ import annotations

import pytest

from ecrlab import account_settings, repositories
from ecrlab.widgets.account_settings_panel import account_settings_form
from ecrlab.widgets.form import INVALID_BORDER, SpecForm, json_text, lines, text


def repository_form(registry, **options) -> SpecForm:
    def build(name, image_tag_mutability):
        return repositories.RepositorySpec(name or "", image_tag_mutability or "MUTABLE")

    fields = [text("name", "Repository"), text("image_tag_mutability", "Tag mutability")]
    return SpecForm(registry, fields, build, repositories.plan, {"name": "app"}, **options)


def test_bad_value_shows_one_line_error_at_its_field(registry):
    form = repository_form(registry)
    form.inputs["name"].value = "Bad_Name"
    form.plan_button.click()
    assert "lowercase letters and digits" in form.errors["name"].value
    assert form.inputs["name"].layout.border == INVALID_BORDER
    assert form.errors["image_tag_mutability"].value == ""
    assert form.apply_button.disabled


def test_planning_again_with_the_same_bad_value_never_blanks_its_error(registry):
    # The app page points the field's aria-describedby at its error while the error shows (WCAG 1.3.1, 4.1.2); an
    # error emptied and refilled in two updates drops that link in between, and a screen reader re-reads it.
    form = repository_form(registry)
    form.inputs["name"].value = "Bad_Name"
    form.plan_button.click()
    shown, borders = [], []
    form.errors["name"].observe(lambda change: shown.append(change["new"]), "value")
    form.inputs["name"].layout.observe(lambda change: borders.append(change["new"]), "border")
    form.plan_button.click()
    form.plan_button.click()
    assert shown == [] and borders == []
    assert "lowercase letters and digits" in form.errors["name"].value


def test_fix_plan_apply_round_trip(registry):
    form = repository_form(registry)
    form.inputs["name"].value = "Bad_Name"
    form.plan_button.click()
    form.inputs["name"].value = "good-name"
    form.plan_button.click()
    assert form.errors["name"].value == "" and form.inputs["name"].layout.border is None
    assert "create" in form.result.value and not form.apply_button.disabled
    form.apply_button.click()
    assert "Applied 1 change(s)" in form.result.value
    assert repositories.inventory(registry)["repository"].tolist() == ["good-name"]
    form.plan_button.click()
    assert "No changes" in form.result.value and form.apply_button.disabled


def test_editing_after_plan_requires_a_new_plan(registry):
    form = repository_form(registry)
    form.plan_button.click()
    form.inputs["name"].value = "other"
    assert form.apply_button.disabled
    form.apply_button.click()
    assert repositories.inventory(registry).empty


def test_dry_run_form_writes_nothing(registry):
    form = account_settings_form(registry, dry_run=True)
    form.inputs["registry_policy_scope"].value = "V1"
    form.plan_button.click()
    form.apply_button.click()
    assert "Dry run: nothing written" in form.result.value
    assert account_settings.read(registry).registry_policy_scope == "V2"


def test_guard_error_is_shown_not_raised(registry):
    form = account_settings_form(registry, expected_account_id="999999999999")
    form.inputs["blob_mounting"].value = "ENABLED"
    form.plan_button.click()
    form.apply_button.click()
    assert "expected_account_id is 999999999999" in form.result.value
    assert account_settings.read(registry).blob_mounting == "DISABLED"


@pytest.mark.parametrize(
    ("field", "raw", "parsed"),
    [
        (lines("p", "P"), "a\n\n b \n", ("a", "b")),
        (json_text("j", "J"), '{"a": 1}', {"a": 1}),
        (text("t", "T"), "  ", None),
    ],
)
def test_field_parsers(field, raw, parsed):
    assert field.parse(raw) == parsed


def test_json_field_names_itself_when_not_json():
    with pytest.raises(Exception) as excinfo:
        json_text("policy", "Policy").parse("{nope")
    assert excinfo.value.field == "policy" and "valid JSON" in excinfo.value.rule


def test_a_working_button_says_so_and_a_failure_reads_as_one_line():
    import ipywidgets as W
    from botocore.exceptions import ClientError

    from ecrlab.widgets.form import working

    button, shown = W.Button(), W.HTML()
    with working(button, shown, "Reading…"):
        assert button.disabled and "ecrlab-busy" in shown.value and "Reading…" in shown.value
        shown.value = "done"
    assert not button.disabled and shown.value == "done"
    refusal = ClientError({"Error": {"Code": "AccessDeniedException", "Message": "not <yours>"}}, "DescribeRegistry")
    with working(button, shown, "Reading…"):
        raise refusal
    assert not button.disabled and "AccessDeniedException" in shown.value and "not &lt;yours&gt;" in shown.value
    with pytest.raises(KeyError), working(button, shown, "Reading…"):  # a bug is still a bug, not a message
        raise KeyError("bug")
    assert not button.disabled
