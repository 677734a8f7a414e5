"""Shared by several test modules (moved from test_sample_images.py so no test module imports another)."""

from __future__ import annotations

TAGS = {
    "alpine-node": "18-alpine",
    "alpine-node-fixed": "18-alpine-fixed",
    "alpine-node-app": "18-alpine-app",
    "debian-app": "bookworm",
    "distroless-static": "nonroot",
    "scratch-binary": "latest",
    "alpine-multiarch": "3.19",
}
