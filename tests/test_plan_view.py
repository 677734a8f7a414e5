"""The panels' plan view: the changed lines and fields of each change, the full value behind one click."""

from __future__ import annotations

import json

from ecrlab.plan import Change, Plan, Setting
from ecrlab.widgets.plan_view import changed_fields, diff_lines, plan_html


def _setting(kind: str, key: str) -> Setting:
    return Setting(kind, key, lambda registry: None, lambda registry, value: None)


POLICY = {
    "Version": "2012-10-17",
    "Statement": [
        {"Sid": "ReadAll", "Effect": "Allow", "Principal": "*", "Action": "ecr:BatchGetImage", "Resource": "*"},
        {"Sid": "NoDelete", "Effect": "Deny", "Principal": "*", "Action": "ecr:DeleteRepository", "Resource": "*"},
    ],
}


def test_a_one_word_policy_change_shows_one_removed_and_one_added_line() -> None:
    after = json.loads(json.dumps(POLICY))
    after["Statement"][1]["Effect"] = "Allow"
    lines = diff_lines(POLICY, after)
    assert [line for mark, line in lines if mark == "-"] == ['      "Effect": "Deny",']
    assert [line for mark, line in lines if mark == "+"] == ['      "Effect": "Allow",']
    assert len(lines) <= 4, "more than the changed lines and a line of context either side"
    assert not any("ReadAll" in line for _, line in lines), "an unchanged statement is shown"


def test_a_policy_stored_as_json_text_diffs_by_line() -> None:
    after = json.loads(json.dumps(POLICY))
    after["Statement"][0]["Action"] = "ecr:*"
    lines = diff_lines(json.dumps(POLICY), json.dumps(after))
    assert [(mark, line.strip()) for mark, line in lines if mark in "+-"] == [
        ("-", '"Action": "ecr:BatchGetImage",'),
        ("+", '"Action": "ecr:*",'),
    ]


def test_changed_fields_of_a_setting() -> None:
    before = {"scanType": "BASIC", "rules": [], "region": "us-east-1"}
    after = {"scanType": "ENHANCED", "rules": [], "region": "us-east-1", "extra": 1}
    assert changed_fields(before, after) == ["extra", "scanType"]
    assert changed_fields(None, after) == []


def test_created_setting_is_all_added_lines() -> None:
    lines = diff_lines(None, {"a": 1})
    assert ("-", "(absent)") in lines
    assert ("+", '  "a": 1') in lines


def test_plan_html_has_the_diff_and_the_full_value_one_click_away() -> None:
    after = json.loads(json.dumps(POLICY))
    after["Statement"][1]["Effect"] = "Allow"
    change = Change(_setting("registry-policy", "policy"), POLICY, after)
    page = plan_html(Plan("123456789012", "us-east-1", (change,)))
    diff = page.split("<pre class='ecrlab-diff'>", 1)[1].split("</pre>", 1)[0]
    assert "ReadAll" not in diff and "&quot;Effect&quot;: &quot;Allow&quot;" in diff
    full = page.split("<details>", 1)[1]
    assert full.count("ReadAll") == 2, "the full before and after values are behind the <details> summary"
    assert "<summary>" in full
    assert "No changes" in plan_html(Plan("123456789012", "us-east-1", ()))
