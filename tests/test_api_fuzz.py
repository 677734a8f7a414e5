"""Every ECR operation of botocore's model, driven with generated bodies over real HTTP.

The expectations come from AWS, not from the emulator: an operation may answer only the errors botocore's
model lists for it, plus the errors AWS documents as common to all operations
(https://docs.aws.amazon.com/AmazonECR/latest/APIReference/CommonErrors.html) and the two its JSON protocol
sends before any operation runs (SerializationException, and ValidationException for the common
"ValidationError"). Never a 5xx, never a non-JSON body, and the registry still serves pushes and pulls after.
"""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

import pytest
from botocore.model import Shape
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import ecrlab
from ecrlab import images
from ecrlab.ecr_model import ecr_model
from ecrlab.package_data import sample_images
from tests.oci import V2
from tests.raw_api import post

COMMON_ERRORS = {
    "AccessDeniedException",
    "IncompleteSignature",
    "InternalFailure",
    "InvalidAction",
    "InvalidClientTokenId",
    "NotAuthorized",
    "OptInRequired",
    "RequestExpired",
    "ServiceUnavailable",
    "ThrottlingException",
    "ValidationException",
    "SerializationException",
}
OPERATIONS = sorted(ecr_model().operation_names)
EXAMPLES = 25
COUNTS: Counter[str] = Counter()
CODES: Counter[str] = Counter()

# Values that reach past validation into the handlers: the repository the fixture fills, this account, a tag.
KNOWN = {
    "repositoryName": ["fuzz/app", "fuzz/other", "missing"],
    "registryId": ["123456789012", "210987654321"],
    "imageTag": ["v1", "latest"],
    "imageDigest": ["sha256:" + "0" * 64],
}
JSON_SCALARS = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), st.text(max_size=20))
ANY_JSON = st.recursive(
    JSON_SCALARS,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=6,
)


def mostly(usual: st.SearchStrategy[Any], rare: st.SearchStrategy[Any], odds: int) -> st.SearchStrategy[Any]:
    """`usual` `odds` times out of `odds + 1` (one_of would merge repeated strategies and weigh them once)."""
    return st.integers(0, odds).flatmap(lambda pick: usual if pick else rare)


def typed(shape: Shape, name: str, depth: int = 0) -> st.SearchStrategy[Any]:
    """Values of the member's JSON type, often valid, sometimes breaking a length, pattern or enum."""
    kind = shape.type_name
    if kind == "structure":
        if depth > 3:
            return st.just({})
        return members(shape, depth + 1)
    if kind == "list":
        return st.lists(value_for(shape.member, name, depth + 1), max_size=3)
    if kind == "boolean":
        return st.booleans()
    if kind in ("integer", "long"):
        return st.integers(min_value=-(2**31), max_value=2**31 - 1) | st.integers(min_value=0, max_value=1000)
    if kind == "blob":
        return st.sampled_from(["", "aGVsbG8=", "not base64!"])
    odd: list[st.SearchStrategy[Any]] = [st.text(max_size=30)]
    if "max" in shape.metadata and shape.metadata["max"] < 20000:
        odd.append(st.just("a" * (int(shape.metadata["max"]) + 1)))
    if shape.enum:
        plausible = st.sampled_from(list(shape.enum))
    elif name in KNOWN:
        plausible = st.sampled_from(KNOWN[name])
    else:
        plausible = st.text(alphabet="abc-/_.:*0123456789", min_size=2, max_size=40)
    return mostly(plausible, st.one_of(*odd), 3)


def value_for(shape: Shape, name: str, depth: int = 0) -> st.SearchStrategy[Any]:
    """Mostly the right JSON type; sometimes null or any JSON value at all."""
    return mostly(typed(shape, name, depth), st.one_of(st.none(), ANY_JSON), 12)


def members(shape: Shape, depth: int = 0) -> st.SearchStrategy[dict[str, Any]]:
    names = list(shape.members)
    required = [n for n in names if n in shape.required_members]
    return st.fixed_dictionaries(
        {n: value_for(shape.members[n], n, depth) for n in required},
        optional={n: value_for(shape.members[n], n, depth) for n in names if n not in required},
    )


def bodies(operation: str) -> st.SearchStrategy[bytes]:
    shape = ecr_model().operation_model(operation).input_shape
    objects = members(shape).map(lambda body: json.dumps(body).encode())
    others = st.one_of(
        ANY_JSON.filter(lambda v: not isinstance(v, dict)).map(lambda v: json.dumps(v).encode()),
        st.binary(max_size=30),
    )
    return mostly(objects, others, 6)


@pytest.fixture(scope="module")
def emulator() -> tuple[ecrlab.Registry, str]:
    registry = ecrlab.connect()
    assert registry.emulator is not None
    registry.emulator.reset()
    for name in ("fuzz/app", "fuzz/other"):
        registry.client().create_repository(repositoryName=name)
    images.push(registry, sample_images() / "alpine-node", "fuzz/app", "v1", progress=None)
    return registry, registry.emulator.endpoint_url


@pytest.mark.parametrize("operation", OPERATIONS)
def test_every_operation_answers_only_its_modelled_errors(emulator, operation):
    _, url = emulator
    allowed = {shape.name for shape in ecr_model().operation_model(operation).error_shapes} | COMMON_ERRORS

    @settings(max_examples=EXAMPLES, deadline=None, database=None, suppress_health_check=list(HealthCheck))
    @given(bodies(operation))
    def run(body: bytes) -> None:
        COUNTS[operation] += 1
        status, content_type, data = post(url, operation, body)
        assert status < 500, (operation, body[:300], data[:500])
        assert "json" in content_type, (operation, body[:300], data[:300])
        answer = json.loads(data)
        if status < 400:
            CODES["(success)"] += 1
        else:
            code = answer["__type"]
            CODES[code] += 1
            assert code in allowed, (operation, body[:300], answer)

    run()


def test_the_registry_still_serves_pushes_and_pulls_after_the_fuzz(emulator, tmp_path, capsys):
    registry, _ = emulator
    client = registry.client()
    for repository in client.describe_repositories()["repositories"]:
        name = repository["repositoryName"]
        client.describe_images(repositoryName=name)  # no poisoned image record
        listing = V2(registry)("GET", f"/v2/{name}/tags/list")
        assert listing.status == 200, (name, listing.data)
    client.create_repository(repositoryName="after/fuzz")
    digest = images.push(registry, sample_images() / "alpine-node", "after/fuzz", "v1", progress=None)
    assert images.pull(registry, "after/fuzz", "v1", tmp_path / "pulled", progress=None) == digest
    with capsys.disabled():
        print(f"\nAPI fuzz: {sum(COUNTS.values())} requests over {len(COUNTS)} operations; errors: {dict(CODES)}")
    assert set(COUNTS) == set(OPERATIONS)
