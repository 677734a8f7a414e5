"""Lifecycle policies run by the emulator: the images a preview selects are archived or expired, on its clock.

AWS (user guide, LifecyclePolicies.html): "images can be archived or expired based on the criteria specified in
the lifecycle policy within 24 hours". The emulator runs a repository's policy 24 hours after it is set and every
24 hours after that, on the emulator clock (a background sweep, `background.py`), and at once on `settle()`, so
lessons see the outcome deterministically. A run evaluates exactly as a preview started at that moment does
(`lifecycle_policies.images_of` and `ecrlab.lifecycle.evaluate`), then:

- `transition` archives the image (its status ARCHIVED, `lastArchivedAt` now) and sends `ECR Image Action` with
  `action-type UPDATE_STORAGE_CLASS` and `target-storage-class ARCHIVE`, the event the EventBridge page documents
  for archiving (that a lifecycle archive sends it: UNCONFIRMED [U38]);
- `expire` deletes the image as BatchDeleteImage does, so its `ECR Image Action` DELETE events go out and its
  referrers are cleaned up as after any delete (that AWS sends DELETE for a lifecycle expiry: UNCONFIRMED [U38]).
"""

from __future__ import annotations

from datetime import datetime

from ecrlab import lifecycle
from ecrlab.emulator import background
from ecrlab.emulator.archive_operations import ACTIVE, archive, status_of, storage_class_event
from ecrlab.emulator.clock import emulator_now
from ecrlab.emulator.lifecycle_policies import LIFECYCLE_INTERVAL, RUNS, images_of
from ecrlab.emulator.moto_compat import ECRBackend, Repository, ecr_backends
from ecrlab.emulator.stored_images import find_image


def _act(backend: ECRBackend, repository: Repository, outcome: lifecycle.Outcome) -> bool:
    image = find_image(repository, outcome.image.digest)
    if image is None:
        return False
    if outcome.action == "transition":
        if status_of(image) != ACTIVE:
            return False
        archive(image)
        storage_class_event(backend, repository, image, "ARCHIVE")
        return True
    backend.batch_delete_image(repository.name, repository.registry_id, [{"imageDigest": outcome.image.digest}])
    return True


def run_policy(backend: ECRBackend, repository: Repository, now: datetime) -> list[lifecycle.Outcome]:
    """Apply the repository's lifecycle policy at `now`: what a preview started now would list; returns it."""
    RUNS.schedule(repository, now + LIFECYCLE_INTERVAL)
    if repository.lifecycle_policy is None:  # deleted since: nothing to apply
        return []
    try:
        outcomes = lifecycle.evaluate(repository.lifecycle_policy, images_of(repository), now)
    except ValueError:  # a policy stored around PutLifecyclePolicy's checks acts on nothing, and fails no request
        return []
    return [outcome for outcome in outcomes if _act(backend, repository, outcome)]


def _registries() -> list[ECRBackend]:
    # dict's own methods: looking a registry up through moto's BackendDict would create it.
    return [backend for regions in dict.values(ecr_backends) for backend in dict.values(regions)]


@background.sweep
def run_due_policies(due_by: datetime | None) -> int:
    """Run every lifecycle policy whose daily run is due by `due_by` (all of them when settling)."""
    registries = _registries()
    known = frozenset(id(backend) for backend in registries)
    if due_by is not None and RUNS.registries == known and RUNS.earliest is not None and due_by < RUNS.earliest:
        return 0  # nothing can be due yet: no walk
    now = emulator_now()
    acted = 0
    # Every policy's next run once this walk is done: a new policy (PutLifecyclePolicy, `RUNS.schedule`) lowers
    # `earliest` by itself, and one set any other way is found by the walk a day from now at the latest.
    upcoming = [now + LIFECYCLE_INTERVAL]
    for backend in registries:
        for repository in list(backend.repositories.values()):
            if not getattr(repository, "lifecycle_policy", None):
                continue
            next_run = getattr(repository, "lifecycle_next_run", None)
            if next_run is None:  # set another way (a creation template): the first run is a day away
                RUNS.schedule(repository, next_run := now + LIFECYCLE_INTERVAL)
            if due_by is None or next_run <= due_by:
                acted += len(run_policy(backend, repository, now))
            upcoming.append(getattr(repository, "lifecycle_next_run", next_run))
    RUNS.earliest, RUNS.registries = min(upcoming), known
    return acted
