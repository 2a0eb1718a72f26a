"""Status callbacks through the real app: a receiver that is down and comes back gets every
event in order, signed, once per URL; HTTP errors are retried with backoff; a given-up event
does not block the next one and can be retried; the delivery log over REST and the CLI."""

from __future__ import annotations

import asyncio
import itertools
import json
import os
import subprocess
import sys
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx
from standardwebhooks import Webhook

from archivist.archives.status import Reason
from tests.servers import free_port
from tests.storage.harness import auth, fast_settings, finished_archive, running_app, wait_for
from tests.webhooks.docs_examples import node_verifies, python_verifier
from tests.webhooks.receiver import Receiver

ORDER = ["started", "stopped", "available", "deleted"]


async def test_receiver_down_then_back_gets_every_event_in_order(tmp_path: Path) -> None:
    receiver = Receiver(free_port())  # not started: connections are refused
    data = tmp_path / "data"
    async with running_app(fast_settings(data, public_url="http://archivist.test")) as (svc, http):
        project = await svc.projects.create("hooks")
        key = project.api_key
        # the spec's registry (its curl example's body, single quotes and all) and the project's own URL
        body = "{'url':'" + receiver.url + "/registry', 'group': 'archive','event': 'status'}"
        r = await http.post(f"/v2/partner/{key}/callback", headers=auth(project), content=body)
        assert r.status_code == 200, r.text
        other = {"url": receiver.url + "/other", "group": "connection", "event": "created"}
        assert (await http.post(f"/v2/project/{key}/callback", headers=auth(project), json=other)).status_code == 200
        await svc.projects.set_callback_url(key, receiver.url + "/project")

        stopped, outcome = await finished_archive(svc, project, name="Weekly")  # started, stopped
        await svc.archives.place_file(stopped, outcome, Reason.USER_INITIATED)  # available
        assert (await http.delete(f"/v2/project/{key}/archive/{stopped.id}", headers=auth(project))).status_code == 204

        async def refused_twice() -> bool:
            log = (await http.get(f"/v2/project/{key}/webhooks/deliveries", headers=auth(project))).json()
            return log["count"] == 8 and all(d["attempts"] >= 2 for d in log["items"] if d["seq"] == 1)

        await wait_for(refused_twice, what="failed attempts while the receiver is down")
        receiver.start()
        try:
            await wait_for(lambda: len(receiver.on("/registry")) == 4 and len(receiver.on("/project")) == 4,
                           what="every event at both URLs")
        finally:
            receiver.stop()
        assert receiver.on("/other") == []
        registry, own = receiver.on("/registry"), receiver.on("/project")
        assert [r.json["status"] for r in registry] == ORDER and [r.json["status"] for r in own] == ORDER
        ids = [r.headers["X-Archivist-Event-Id"] for r in registry]
        assert len(set(ids)) == 4 and ids == [r.headers["X-Archivist-Event-Id"] for r in own]
        assert int(registry[0].headers["X-Archivist-Attempt"]) >= 3

        check = python_verifier()
        assert all(check(project.api_secret, httpx.Headers(r.headers), r.body) for r in registry + own)
        assert node_verifies(project.api_secret, registry + own) == [True] * 8
        assert not check("wrong-secret", httpx.Headers(registry[0].headers), registry[0].body)
        standard = Webhook(project.api_secret.encode())  # the Standard Webhooks headers, on the real requests
        assert all(standard.verify(r.body, r.headers)["id"] == stopped.id for r in registry + own)
        assert all(r.headers["webhook-id"] == r.headers["X-Archivist-Event-Id"] for r in registry + own)

        for got in registry:
            event = got.json
            assert got.headers["Content-Type"] == "application/json"
            assert event["event"] == "archive" and event["id"] == stopped.id and event["name"] == "Weekly"
            assert event["partnerId"] == int(key) and event["sessionId"] == stopped.session_id
            assert event["createdAt"] == stopped.created_at
        started, stop, available, deleted = (r.json for r in registry)
        assert stop["reason"] == available["reason"] == "user initiated"
        assert available["size"] == outcome.size and available["duration"] == 1
        assert available["sha256sum"] == outcome.sha256
        assert started["url"] is None and stop["url"] is None and deleted["url"] is None
        link = urlsplit(available["url"])
        assert f"{link.scheme}://{link.netloc}" == "http://archivist.test"
        assert link.path == f"/archives/{stopped.id}/download" and parse_qs(link.query)["signature"]
        # the link is validly signed: the archive is deleted now, so 404 rather than 403
        assert (await http.get(f"{link.path}?{link.query}")).status_code == 404

        log = (await http.get(f"/v2/project/{key}/webhooks/deliveries", params={"archiveId": stopped.id},
                              headers=auth(project))).json()
        assert log["count"] == 8 and {d["state"] for d in log["items"]} == {"delivered"}
        first = next(d for d in log["items"] if d["seq"] == 1 and d["source"].startswith("callback:"))
        assert [a["statusCode"] for a in first["log"]][-1] == 200
        assert all(a["statusCode"] is None and "Connect" in a["error"] for a in first["log"][:-1])
        assert {d["source"] for d in log["items"]} == {first["source"], "project"}

    env = {k: v for k, v in os.environ.items() if not k.startswith("ARCHIVIST_")}
    command = [sys.executable, "-m", "archivist.cli", "--data-dir", str(data), "webhooks", "deliveries",
               "--archive", stopped.id]
    cli = await asyncio.to_thread(subprocess.run, [*command, "--json"], env=env, capture_output=True, text=True,
                                  timeout=60)
    assert cli.returncode == 0, cli.stderr
    listed = json.loads(cli.stdout)
    assert {d["id"] for d in listed} == {d["id"] for d in log["items"]}
    assert all(d["state"] == "delivered" and d["log"] for d in listed)
    text = (await asyncio.to_thread(subprocess.run, command, env=env, capture_output=True, text=True,
                                    timeout=60)).stdout
    assert "ConnectError" in text and "HTTP 200" in text and project.api_secret not in text


async def test_errors_are_retried_with_backoff_and_given_up_events_do_not_block(tmp_path: Path) -> None:
    flaky = Receiver(free_port(), fail_first=2, fail_status=503).start()
    dead = Receiver(free_port(), fail_first=10**9, fail_status=500).start()
    settings = fast_settings(tmp_path / "data", webhook_backoff=0.2, webhook_backoff_max=1.0,
                             webhook_give_up_after=0.8)
    try:
        async with running_app(settings) as (svc, http):
            project = await svc.projects.create("retries")
            for url in (flaky.url + "/flaky", dead.url + "/dead"):
                body = {"url": url, "group": "archive", "event": "status"}
                assert (await http.post(f"/v2/project/{project.api_key}/callback", headers=auth(project),
                                        json=body)).status_code == 200
            await finished_archive(svc, project)  # started, stopped

            await wait_for(lambda: len(flaky.on("/flaky")) == 2, what="both events after the 503s")
            assert [r.json["status"] for r in flaky.on("/flaky")] == ["started", "stopped"]
            assert flaky.answered == [503, 503, 200, 200]

            async def given_up() -> list[dict[str, object]]:
                log = (await http.get(f"/v2/project/{project.api_key}/webhooks/deliveries",
                                      params={"state": "failed"}, headers=auth(project))).json()
                return log["items"] if log["count"] == 2 else []

            failed = await wait_for(given_up, what="both events to the dead URL given up")
            # the started event was given up, then the stopped one was tried: no blocking
            assert sorted(d["status"] for d in failed) == ["started", "stopped"]  # type: ignore[type-var]
            started = next(d for d in failed if d["status"] == "started")
            attempts = started["log"]
            assert isinstance(attempts, list) and len(attempts) >= 2
            assert {a["statusCode"] for a in attempts} == {500}
            gaps = [(b["at"] - a["at"]) / 1000 for a, b in itertools.pairwise(attempts)]
            assert gaps[0] >= 0.17  # webhook_backoff 0.2 s, ±10 %
            if len(gaps) > 1:
                assert gaps[1] >= 0.35  # doubled

            dead.fail_first = 0  # the receiver is fixed; an operator retries the given-up event
            url = f"/v2/project/{project.api_key}/webhooks/deliveries/{started['id']}/retry"
            retried = await http.post(url, headers=auth(project))
            assert retried.status_code == 200 and retried.json()["state"] == "pending"
            await wait_for(lambda: [r.json["status"] for r in dead.on("/dead")] == ["started"],
                           what="the retried delivery")
            again = await http.post(url, headers=auth(project))
            assert again.status_code == 409 and again.json()["code"] == 409
            unknown = await http.post(f"/v2/project/{project.api_key}/webhooks/deliveries/nope/retry",
                                      headers=auth(project))
            assert unknown.status_code == 404
            bad = await http.get(f"/v2/project/{project.api_key}/webhooks/deliveries", params={"limit": "x"},
                                 headers=auth(project))
            assert bad.status_code == 400 and bad.json()["code"] == 400
            stranger = await http.get(f"/v2/project/{project.api_key}/webhooks/deliveries",
                                      headers={"X-TB-PARTNER-AUTH": f"{project.api_key}:wrong"})
            assert stranger.status_code == 403
    finally:
        flaky.stop()
        dead.stop()
