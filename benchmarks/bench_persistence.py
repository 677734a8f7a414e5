"""P-persist: what `--data-dir` costs a push. 1,000 pushes against `ecrlab emulator serve` without and with it.

Each push is what `docker push` of a one-layer image sends: two blob uploads (POST then PUT) and a manifest PUT,
each image a distinct digest, all into one repository (the worst case for a snapshot per write, which is why
pushes are journaled). Rounds alternate plain / persisted, each on a fresh server process; prints the medians and
their ratio, and the ratio of the server's CPU time (user + system, from /proc), which other load on a shared
machine disturbs far less than wall time. Target: <= 1.3. `--fsync` measures `emulator serve --fsync` (power-loss
durability) instead; `PUSHES=100` a quicker run.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import urllib3

PUSHES = int(os.environ.get("PUSHES", 1000))
ROUNDS = 5
BIN = Path(sys.executable).parent


def digest_of(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def serve(data_dir: str | None, fsync: bool) -> tuple[subprocess.Popen[str], str, str]:
    command = [str(BIN / "ecrlab"), "emulator", "serve", "--port", "0"]
    if data_dir:
        command += ["--data-dir", data_dir] + (["--fsync"] if fsync else [])
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    assert proc.stdout is not None
    url = proc.stdout.readline().strip()
    token = proc.stdout.readline().strip().partition("=")[2]
    return proc, url, token


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def push_all(url: str) -> float:
    import boto3

    ecr = boto3.client(
        "ecr", endpoint_url=url, region_name="us-east-1", aws_access_key_id="AKIABENCH00000000000",
        aws_secret_access_key="x",
    )  # fmt: skip
    ecr.create_repository(repositoryName="bench")
    token = ecr.get_authorization_token()["authorizationData"][0]["authorizationToken"]
    http = urllib3.PoolManager(retries=False)
    auth = {"Authorization": f"Basic {token}"}

    def upload(data: bytes) -> str:
        started = http.request("POST", f"{url}/v2/bench/blobs/uploads/", headers=auth)
        location = started.headers["Location"]
        done = http.request("PUT", f"{url}{location}?digest={digest_of(data)}", body=data, headers=auth)
        assert done.status == 201, done.data
        return digest_of(data)

    start = time.perf_counter()
    for i in range(PUSHES):
        config = json.dumps({"architecture": "amd64", "os": "linux", "i": i}).encode()
        layer = base64.b64encode(os.urandom(512))
        manifest = {
            "schemaVersion": 2,
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": upload(config),
                       "size": len(config)},
            "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar", "digest": upload(layer),
                        "size": len(layer)}],
        }  # fmt: skip
        put = http.request(
            "PUT",
            f"{url}/v2/bench/manifests/v{i}",
            body=json.dumps(manifest).encode(),
            headers={**auth, "Content-Type": "application/vnd.oci.image.manifest.v1+json"},
        )
        assert put.status == 201, put.data
    return time.perf_counter() - start


def round_seconds(persisted: bool, fsync: bool) -> tuple[float, float]:
    """(wall seconds, server CPU seconds) of the pushes."""
    with tempfile.TemporaryDirectory(prefix="ecrlab-bench-") as data_dir:
        proc, url, _ = serve(data_dir if persisted else None, fsync)
        try:
            cpu = cpu_seconds(proc.pid)
            wall = push_all(url)
            return wall, cpu_seconds(proc.pid) - cpu
        finally:
            proc.terminate()
            proc.wait(timeout=30)


def main() -> None:
    fsync = "--fsync" in sys.argv
    label = "--data-dir --fsync" if fsync else "--data-dir"
    plain, persisted = [], []
    for _ in range(ROUNDS):
        plain.append(round_seconds(False, fsync))
        persisted.append(round_seconds(True, fsync))
        print(
            f"round: plain {plain[-1][0]:.2f} s (server CPU {plain[-1][1]:.2f} s), {label} {persisted[-1][0]:.2f} s "
            f"(server CPU {persisted[-1][1]:.2f} s)",
            flush=True,
        )
    p, d = (statistics.median(wall for wall, _ in rounds) for rounds in (plain, persisted))
    pc, dc = (statistics.median(cpu for _, cpu in rounds) for rounds in (plain, persisted))
    print(
        f"P-persist {PUSHES} pushes: plain {p / PUSHES * 1000:.2f} ms/push, {label} {d / PUSHES * 1000:.2f} ms/push; "
        f"server CPU {pc / PUSHES * 1000:.2f} vs {dc / PUSHES * 1000:.2f} ms/push ({ROUNDS} interleaved rounds, median)"
    )
    print(f"P-persist ratio {label}/plain = {d / p:.3f} wall, {dc / pc:.3f} server CPU (target <= 1.3)")


if __name__ == "__main__":
    main()
