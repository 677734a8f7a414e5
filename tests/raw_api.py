"""ECR API calls as raw HTTP, so tests can send what boto3's own validation would never let through."""

from __future__ import annotations

import http.client
import json
from typing import Any
from urllib.parse import urlsplit

from ecrlab.ecr_model import ecr_model

TARGET = ecr_model().metadata["targetPrefix"]


def post(url: str, operation: str, body: bytes | Any) -> tuple[int, str, bytes]:
    """(status, Content-Type, body) of `operation` with `body` (bytes as is, anything else as JSON)."""
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    parts = urlsplit(url)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
    headers = {
        "X-Amz-Target": f"{TARGET}.{operation}",
        "Content-Type": "application/x-amz-json-1.1",
        "Authorization": "AWS4-HMAC-SHA256 Credential=AKIARAW0000000000000/20260101/us-east-1/ecr/aws4_request, "
        "SignedHeaders=host;x-amz-target, Signature=00",
    }
    try:
        connection.request("POST", "/", body=data, headers=headers)
        response = connection.getresponse()
        return response.status, response.getheader("Content-Type", ""), response.read()
    finally:
        connection.close()


def error_of(answer: tuple[int, str, bytes]) -> tuple[int, str, str | None]:
    """(status, AWS error code, message) of an error answer; fails when the body is not AWS's JSON shape."""
    status, content_type, data = answer
    assert "json" in content_type, data[:300]
    payload = json.loads(data)
    return status, payload["__type"], payload.get("message")
