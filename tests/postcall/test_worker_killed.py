"""A worker process killed while delivering a webhook (PostgreSQL, real processes): the
delivery is not lost, and the event goes out again with the same id and bytes."""

from __future__ import annotations

import signal
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from openrevox.notifications.webhooks import EVENT_ID_HEADER
from openrevox.scheduler.testing import organization, place
from openrevox.storage.database import Database
from openrevox.storage.repositories import jobs as job_repo
from tests.scheduler.conftest import db, order, wait_until  # noqa: F401  (fixture)
from tests.scheduler.test_workers import pg, workers  # noqa: F401  (fixture)

NOT_ATTRIBUTED = "+12025550105"  # the order ends at once, no conversation to analyse


class HangingReceiver:
    """Holds the first POST open (the worker is killed meanwhile); answers 200 after."""

    def __init__(self) -> None:
        self.received: list[tuple[dict[str, str], bytes]] = []
        self.release = threading.Event()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *_: Any) -> None:
                pass

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.received.append((dict(self.headers.items()), body))
                if len(receiver.received) == 1:
                    receiver.release.wait(30)
                try:
                    self.send_response(200)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                except OSError:
                    pass  # the worker that asked is gone

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"

    def close(self) -> None:
        self.release.set()
        self.server.shutdown()
        self.server.server_close()


async def test_a_worker_killed_mid_delivery(db: Database, pg: str) -> None:  # noqa: F811
    receiver = HangingReceiver()
    settings = {"jobs_lease_secs": "2", "webhook_timeout_secs": "30"}
    try:
        org = await organization(db)
        call_id = await place(db, org, NOT_ATTRIBUTED, webhook_url=receiver.url)
        with workers(pg, 1, **settings) as [doomed]:

            async def posted() -> bool:
                return len(receiver.received) == 1

            await wait_until(posted, within=30)
            doomed.send_signal(signal.SIGKILL)
            doomed.wait()
        receiver.release.set()
        async with db.read() as session:
            [hook] = await job_repo.list_jobs(session, call_id=call_id, kinds=["webhook"])
        assert (hook.status, hook.tries) == ("running", 1)  # claimed by the dead worker

        with workers(pg, 1, **settings):

            async def delivered() -> bool:
                async with db.read() as session:
                    view = await job_repo.get(session, hook.id)
                return view is not None and view.status == "succeeded"

            await wait_until(delivered, within=30)
    finally:
        receiver.close()
    assert len(receiver.received) == 2
    (first, body1), (second, body2) = receiver.received
    assert first[EVENT_ID_HEADER] == second[EVENT_ID_HEADER] == hook.id
    assert body1 == body2
    async with db.read() as session:
        view = await job_repo.get(session, hook.id)
        tries = await job_repo.tries_of(session, hook.id)
    assert view is not None and view.tries == 2
    assert [(t.try_number, t.ok, t.status_code) for t in tries] == [(2, True, 200)]
    assert (await order(db, call_id)).status == "completed"
