"""The reference server in a process of its own (as a real server is): for benchmarks and
kill trials, where the client side must not share a GIL or a process fate with it."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[2]

_SCRIPT = """
import json, sys, time
from tests.sync.reference_server import ReferenceServer
server = ReferenceServer().start()
server.processing_seconds = 0.0
user, count = sys.argv[1], int(sys.argv[2])
for index in range(count):
    server.add_case(user, f"Remote Patient {index}", 20 + index % 60, "male",
                    "Referred for review")
time.sleep(0.05)  # every case past "processing"
print(json.dumps({"url": server.base_url, "token": server.token}), flush=True)
sys.stdin.read()  # until the owner closes our stdin
server.stop()
"""


class ServerProcess:
    """Start with `remote_cases` cases already on the server for `user`."""

    def __init__(self, user: str, remote_cases: int = 0) -> None:
        self.user = user
        self.process = subprocess.Popen(
            [sys.executable, "-c", _SCRIPT, user, str(remote_cases)], cwd=ROOT,
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        assert self.process.stdout is not None
        started = json.loads(self.process.stdout.readline())
        self.base_url: str = started["url"]
        self.token: str = started["token"]

    def __enter__(self) -> ServerProcess:
        return self

    def __exit__(self, *_: object) -> None:
        self.stop()

    def cases(self) -> list[dict]:
        with httpx.Client(base_url=self.base_url, trust_env=False,
                          headers={"Authorization": f"Bearer {self.token}"}) as client:
            return client.get("/cases/all_cases", params={"user_id": self.user}) \
                .json()["cases"]

    def stop(self) -> None:
        assert self.process.stdin is not None and self.process.stdout is not None
        self.process.stdin.close()
        self.process.wait(timeout=30)
        self.process.stdout.close()
