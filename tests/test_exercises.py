"""Every exercise check answers in words for any input a learner can type: "Not yet: <reason>", never a traceback.

Hypothesis generates malformed answers (numbers, text, nested lists and dicts, policy-shaped documents with
broken statements); none of them is a right answer, so each must get a "Not yet" with a reason.
"""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ecrlab import exercises

SCALARS = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=12)
JSON_LIKE = st.recursive(
    SCALARS,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=10,
)
STATEMENT = st.fixed_dictionaries(
    {"Effect": st.sampled_from(["Allow", "Deny", "allow", ""]), "Action": JSON_LIKE, "Resource": JSON_LIKE},
    optional={"Principal": JSON_LIKE, "Sid": JSON_LIKE, "Condition": JSON_LIKE},
)
POLICY_SHAPED = st.fixed_dictionaries(
    {"Version": st.sampled_from(["2012-10-17", "2008-10-17", "latest"]), "Statement": JSON_LIKE | st.lists(STATEMENT)}
)
CHECKS = {
    "check_only_ci_deletes": JSON_LIKE | POLICY_SHAPED,
    "check_k8s_pause_rule": JSON_LIKE,
    "check_ml_templates": JSON_LIKE | st.lists(JSON_LIKE, max_size=3),
    "check_prod_replication": JSON_LIKE,
    "check_prod_scanning": JSON_LIKE,
    "check_release_signing": JSON_LIKE,
    "check_archive_policy": JSON_LIKE,
    "check_scanner_exclusion": JSON_LIKE,
}


def test_every_check_is_covered() -> None:
    assert set(CHECKS) == {name for name in vars(exercises) if name.startswith("check_")}


@pytest.mark.parametrize("name", sorted(CHECKS))
def test_malformed_answers_get_not_yet_with_a_reason(name: str) -> None:
    check = getattr(exercises, name)

    @settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(CHECKS[name])
    def answers(value: Any) -> None:
        answer = check(value)
        assert isinstance(answer, str)
        assert answer.startswith("Not yet: "), answer
        assert len(answer.removeprefix("Not yet: ").strip()) > 10, f"no reason given: {answer!r}"
        assert "Traceback" not in answer

    answers()


def test_a_policy_ecr_would_refuse_is_named_in_words() -> None:
    answer = exercises.check_only_ci_deletes({"Version": "2012-10-17", "Statement": None})
    assert answer.startswith("Not yet: ECR would refuse this policy.")
    assert "Statement" in answer


def test_a_single_template_is_asked_to_be_a_list() -> None:
    from ecrlab.templates import TemplateSpec

    answer = exercises.check_ml_templates(TemplateSpec("ml", "CREATE_ON_PUSH"))  # type: ignore[arg-type]
    assert answer.startswith("Not yet: my_templates must be a list")
