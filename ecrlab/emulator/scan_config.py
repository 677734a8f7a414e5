"""The registry scanning configuration: Put/Get/BatchGet as ECR answers them, over `ecrlab.scan_rules`.

moto stores the configuration but matches filters as regular expressions anchored only at the start (so `*prod`
matches `prod-repo`) and lets the last matching rule win; here the documented WILDCARD semantics and precedence
apply, shared with ecrlab's client. The model's shapes (at most 2 rules, the filter pattern) are checked before
these handlers run; which frequencies a scan type takes is checked here.

Turning on ENHANCED starts Amazon Inspector's initial scan (in the background, as every scan) of the images already
in repositories it scans continuously (how far back Inspector looks is UNCONFIRMED [U12]: the emulator scans them
all), and a change of any repository's frequency under ENHANCED sends `ECR Scan Resource Change`.
"""

from __future__ import annotations

from typing import Any

from ecrlab.emulator import events
from ecrlab.emulator.aws_errors import invalid_parameter
from ecrlab.emulator.extension import Call, operation
from ecrlab.emulator.moto_compat import ECRBackend
from ecrlab.emulator.scanner import is_index
from ecrlab.emulator.scanning_operations import (
    SCAN_LOCK,
    ScanningConfigurationState,
    repository_arn,
    repository_scanning,
    scan_records,
    start_scan,
)
from ecrlab.emulator.state import state_of
from ecrlab.scan_rules import RepositoryScanning, configuration_problem


@operation(
    "PutRegistryScanningConfiguration",
    "documented WILDCARD semantics (no `*`: contains); BASIC takes SCAN_ON_PUSH rules, ENHANCED also "
    "CONTINUOUS_SCAN; turning ENHANCED on scans images under continuous rules; ECR Scan Resource Change events",
    replaces_native=True,
)
def put_registry_scanning_configuration(call: Call) -> dict[str, Any]:
    configuration = {"scanType": call.params.get("scanType") or "BASIC", "rules": call.params.get("rules") or []}
    problem = configuration_problem(configuration)
    if problem:
        # The model allows MANUAL in any rule; AWS's wording for refusing it is UNCONFIRMED [U26].
        raise invalid_parameter(problem[0], problem[1])
    backend = call.ecr
    names = sorted(backend.repositories)
    with SCAN_LOCK:
        before = {name: repository_scanning(backend, name) for name in names}
        state_of(backend, ScanningConfigurationState).configuration = configuration
        after = {name: repository_scanning(backend, name) for name in names}
        if configuration["scanType"] == "ENHANCED":
            _announce_changes(backend, before, after)
            for name in names:
                if after[name].scan_frequency == "CONTINUOUS_SCAN":
                    for image in list(backend.repositories[name].images):
                        if not is_index(image) and "ENHANCED" not in scan_records(image):
                            start_scan(backend, name, image, "ENHANCED", "CONTINUOUS_SCAN")
    return {"registryScanningConfiguration": configuration}


def _announce_changes(
    backend: ECRBackend, before: dict[str, RepositoryScanning], after: dict[str, RepositoryScanning]
) -> None:
    changed = [
        {
            "repository-name": name,
            "repository-arn": repository_arn(backend, name),
            "scan-frequency": after[name].scan_frequency,
            "previous-scan-frequency": before[name].scan_frequency,
        }
        for name in after
        if after[name].scan_frequency != before[name].scan_frequency or before[name].scan_type != "ENHANCED"
    ]
    if changed:
        detail = {
            "action-type": "SCAN_FREQUENCY_CHANGE",
            "repositories": changed,
            "resource-type": "REPOSITORY",
            "scan-type": "ENHANCED",
        }
        events.emit(backend.account_id, backend.region_name, "ECR Scan Resource Change", detail, [])


@operation(
    "GetRegistryScanningConfiguration",
    "the configuration as put (BASIC without rules until then)",
    replaces_native=True,
)
def get_registry_scanning_configuration(call: Call) -> dict[str, Any]:
    return {
        "registryId": call.account_id,
        "scanningConfiguration": state_of(call.ecr, ScanningConfigurationState).configuration,
    }


@operation(
    "BatchGetRepositoryScanningConfiguration",
    "each repository's frequency from the registry's rules (continuous wins), with the filters that matched",
    replaces_native=True,
)
def batch_get_repository_scanning_configuration(call: Call) -> dict[str, Any]:
    backend = call.ecr
    found, failures = [], []
    for name in call.params["repositoryNames"]:
        if name not in backend.repositories:
            failures.append(
                {"repositoryName": name, "failureCode": "REPOSITORY_NOT_FOUND", "failureReason": "REPOSITORY_NOT_FOUND"}
            )
            continue
        scanning = repository_scanning(backend, name)
        found.append(
            {
                "repositoryArn": backend.repositories[name].arn,
                "repositoryName": name,
                # "Whether scan on push is configured": true only for SCAN_ON_PUSH (UNCONFIRMED [U26] for continuous).
                "scanOnPush": scanning.scan_frequency == "SCAN_ON_PUSH",
                "scanFrequency": scanning.scan_frequency,
                "appliedScanFilters": [{"filter": f, "filterType": "WILDCARD"} for f in scanning.applied_filters],
            }
        )
    return {"scanningConfigurations": found, "failures": failures}
