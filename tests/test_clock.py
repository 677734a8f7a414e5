"""The injectable clock: frozen for reproducible lessons, advanced by a call, honoured by moto."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from ecrlab.emulator.clock import WORKSHOP_START, Clock
from ecrlab.errors import ValidationError


def test_frozen_clock_moves_only_when_advanced():
    clock = Clock(frozen_at=WORKSHOP_START)
    assert clock.now() == clock.now() == WORKSHOP_START
    assert clock.advance(timedelta(hours=24)) == WORKSHOP_START + timedelta(hours=24)


def test_clock_never_goes_back():
    with pytest.raises(ValidationError):
        Clock().advance(timedelta(seconds=-1))


def test_system_clock_with_offset():
    clock = Clock()
    clock.advance(timedelta(days=1))
    assert clock.now() - datetime.now(UTC) > timedelta(hours=23)


def test_emulator_timestamps_follow_the_clock(registry):
    ecr = registry.client()
    first = ecr.create_repository(repositoryName="first")["repository"]["createdAt"]
    assert first == WORKSHOP_START
    assert registry.emulator.advance(hours=24) == WORKSHOP_START + timedelta(hours=24)
    second = ecr.create_repository(repositoryName="second")["repository"]["createdAt"]
    assert second - first == timedelta(hours=24)
    ecr.put_image(
        repositoryName="second",
        imageManifest='{"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json"}',
        imageTag="v1",
    )
    pushed = ecr.describe_images(repositoryName="second")["imageDetails"][0]["imagePushedAt"]
    assert pushed == second


def test_reset_restarts_the_frozen_clock(registry):
    registry.emulator.advance(days=3)
    registry.emulator.reset()
    assert registry.emulator.now() == WORKSHOP_START
