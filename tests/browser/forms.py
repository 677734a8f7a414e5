"""Which form field each feature notebook's browser test breaks, and the values it uses.

One row per feature notebook (`notebooks/0[1-57-9]_*.ipynb`; 06, the baseline, has no form of its own): a
notebook without a row fails its browser tests with a message pointing here. The field is the `SpecForm` field name
(its input carries `ecrlab-field-<name>`); `bad` must make Plan show an inline error at that field, and `good` must
give a plan with at least one change, so Apply is enabled after the notebook ran top to bottom. Where that needs
other fields changed too, `first` sets them.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class FormCase:
    """How to exercise one notebook's main form: a field, a value it refuses, a value it plans."""

    field: str
    bad: str
    good: str
    error: str = ""  # a fragment the inline error must contain (empty: any message)
    first: tuple[tuple[str, str], ...] = ()  # other fields to set beforehand, in order: (name, value)


FORMS: dict[str, FormCase] = {
    "01_registry_permissions": FormCase(
        "admin_principals",
        bad="devops role",
        good="arn:aws:iam::123456789012:role/devops-role\narn:aws:iam::123456789012:role/ci-role",
        error="must be an IAM ARN",
    ),
    "03_repository_creation_templates": FormCase(
        "prefix",
        bad="Team A/",
        good="team-a",
        error="must be ROOT, or lowercase letters",
    ),
    # The seed's myth: the upstream "URL" is a registry host; the repository path belongs in the prefixes.
    "02_pull_through_cache": FormCase(
        "upstream_registry_url",
        bad="https://quay.io/prometheus",
        good="quay.io",
        error="must be a registry host without a scheme",
        first=(("upstream_registry", "quay"),),
    ),
    "04_replication": FormCase(
        "destinations",
        bad="moon-1",
        good="ap-southeast-2",
        error="must be an AWS region",
    ),
    "05_scanning": FormCase(
        "on_push",
        bad="Prod Release",
        good="payments*",
        error="must satisfy regular expression pattern",
    ),
    "07_managed_signing": FormCase(
        "repository_filters",
        bad="Shop API",
        good="shop/*",
        error="must satisfy regular expression pattern",
    ),
    # The guide's archive minimum: a rule may not delete images archived for less than 90 days.
    "08_archive": FormCase(
        "delete_after_days",
        bad="30",
        good="365",
        error="must be at least 90",
    ),
    # A session ARN is what a pull shows, but an exclusion names the role.
    "09_pull_time_exclusions": FormCase(
        "principal_arns",
        bad="arn:aws:sts::123456789012:assumed-role/scanner/s1",
        good="inventory",
        error="must satisfy regular expression pattern",
    ),
}
