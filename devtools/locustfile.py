"""The API load `make bench` measures (devtools.apiload): sync-tab pollers and run pollers.

Each simulated client is one browser tab or script polling about once a second. Half
of the run pollers send If-None-Match, as a well-behaved client does, and should get
304s. The token, organization and run come from the environment (apiload sets them).
"""

from __future__ import annotations

import os

from locust import HttpUser, between, task

TOKEN = os.environ.get("ROLLCALL_BENCH_TOKEN", "")
ORG = os.environ.get("ROLLCALL_BENCH_ORG", "1")
RUN = os.environ.get("ROLLCALL_BENCH_RUN", "1")


class _Poller(HttpUser):
    abstract = True
    wait_time = between(0.5, 1.5)

    def on_start(self) -> None:
        self.client.headers["Authorization"] = f"Bearer {TOKEN}"

    @task
    def sync_tab(self) -> None:
        self.client.get(f"/api/v1/organizations/{ORG}/sync-tab/", name="sync-tab")


class PlainPoller(_Poller):
    @task
    def poll_run(self) -> None:
        self.client.get(f"/api/v1/sync-runs/{RUN}/", name="sync-run 200")


class ConditionalPoller(_Poller):
    etag = ""

    @task
    def poll_run(self) -> None:
        headers = {"If-None-Match": self.etag} if self.etag else {}
        name = "sync-run 304" if self.etag else "sync-run 200"
        with self.client.get(
            f"/api/v1/sync-runs/{RUN}/", headers=headers, name=name, catch_response=True
        ) as response:
            if response.status_code == 304:
                response.success()
            elif response.status_code == 200:
                self.etag = response.headers.get("ETag", "")
                response.success()
            else:
                response.failure(f"status {response.status_code}")
