"""The example host app over HTTP, on the engine's testing kit."""

from __future__ import annotations

import json
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient  # imported quietly by conftest first

from engine import (
    ConcurrencyConflict,
    Engine,
    EngineError,
    GuardRejected,
    InstanceNotFound,
    IntegrityViolation,
    InvalidArgument,
    InvalidPayload,
    PermissionDenied,
    StorageUnavailable,
    TransitionNotAllowed,
    UnknownWorkflow,
)
from engine.testing import actor, payload, walk_to
from examples.host_app.app import NOTIFIER, create_app
from examples.host_app.errors import engine_error_response
from examples.host_app.outbox import Outbox
from workflows.technical_assistance.builders import activity_record_payload
from workflows.technical_assistance.walking import attach_reports


def as_(role: str, **headers: str) -> dict[str, str]:
    """Headers of a caller acting in ``role`` (the kit's actor), plus ``headers``."""
    who = actor(role)
    return {"X-Actor-Id": who.id, "X-Actor-Role": who.role, **headers}


def submit(client: TestClient, **headers: str) -> Any:
    """Submit the kit's request as the partner institution; the 201 response."""
    response = client.post("/requests", json=payload("submit"), headers=as_("partner", **headers))
    assert response.status_code == 201, response.json()
    return response


LIFECYCLE = [  # after submit: each trigger and the role that fires it (version 2)
    ("request_opinion", "socieux_team"),
    ("give_opinion", "eu_delegation"),
    ("fine_tune", "socieux_team"),
    ("approve", "commission"),
    ("mobilise", "socieux_team"),
    ("record_activity", "expert"),  # once per planned activity
    ("implement", "socieux_team"),
    ("evaluate", "evaluator"),
    ("disseminate", "socieux_team"),
]


ROOT = Path(__file__).resolve().parents[3]


# ---------------------------------------------------------------- the app
def test_importing_the_app_opens_nothing(tmp_path: Path) -> None:
    code = "import examples.host_app.app as m; print(sorted(m.app.openapi()['paths']))"
    out = subprocess.run(
        [sys.executable, "-c", code],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=True,
        env={"PYTHONPATH": str(ROOT), "SOCIEUX_DB": "sqlite:///x.db"},
    )
    assert list(tmp_path.iterdir()) == []  # the engine opens when the server starts
    assert out.stdout.split("'")[1::2] == [
        "/outbox",
        "/portfolio",
        "/requests",
        "/requests/{instance_id}",
        "/requests/{instance_id}/allowed",
        "/requests/{instance_id}/approve",
        "/requests/{instance_id}/cancel",
        "/requests/{instance_id}/disseminate",
        "/requests/{instance_id}/evaluate",
        "/requests/{instance_id}/fine_tune",
        "/requests/{instance_id}/give_opinion",
        "/requests/{instance_id}/history",
        "/requests/{instance_id}/implement",
        "/requests/{instance_id}/mobilise",
        "/requests/{instance_id}/record_activity",
        "/requests/{instance_id}/reject",
        "/requests/{instance_id}/request_opinion",
        "/requests/{instance_id}/resubmit",
        "/requests/{instance_id}/return_for_revision",
        "/requests/{instance_id}/withdraw",
    ]  # one route per trigger of the installed definition (start: POST /requests)


# ---------------------------------------------------------------- commands
def test_a_request_goes_from_submission_to_dissemination_over_http(client: TestClient) -> None:
    created = submit(client)
    url, tag = created.headers["Location"], created.headers["ETag"]
    assert tag == '"1"'
    assert client.get(url).json()["state"] == "submitted"

    for trigger, role in LIFECYCLE:
        bodies: list[dict[str, Any]]
        if trigger == "record_activity":
            activities = client.get(url).json()["data"]["activities"]
            bodies = [{"data": activity_record_payload(a, version=2)} for a in activities]
        else:
            bodies = [{"data": payload(trigger)}]
        if trigger == "implement":  # version 3 wants the reports on file; the app has no
            engine: Engine = client.app.state.engine  # type: ignore[attr-defined]
            # evidence route yet, so the back office attaches them through its engine
            done = attach_reports(engine, engine.get(url.rsplit("/", 1)[-1]))
            tag = f'"{done.version}"'
        for body in bodies:
            response = client.post(
                f"{url}/{trigger}", json=body, headers=as_(role, **{"If-Match": tag})
            )
            assert response.status_code == 200, response.json()
            assert response.headers["ETag"] == f'"{response.json()["version"]}"'
            tag = response.headers["ETag"]

    final = client.get(url)
    assert final.json()["state"] == "disseminated"
    assert final.headers["ETag"] == tag == '"13"'
    history = client.get(f"{url}/history").json()
    assert [(h["trigger"], h["role"]) for h in history] == [
        ("submit", "partner_institution"),
        ("request_opinion", "socieux_team"),
        ("give_opinion", "eu_delegation"),
        ("fine_tune", "socieux_team"),
        ("approve", "commission"),
        ("mobilise", "socieux_team"),
        ("record_activity", "expert"),
        ("record_activity", "expert"),
        ("__attach_evidence__", "socieux_team"),
        ("__attach_evidence__", "socieux_team"),
        ("implement", "socieux_team"),
        ("evaluate", "evaluator"),
        ("disseminate", "socieux_team"),
    ]


def test_a_command_body_is_optional_and_carries_the_reason(client: TestClient) -> None:
    url = submit(client).headers["Location"]
    response = client.post(
        f"{url}/return_for_revision",
        json={"reason": "Narrow it down."},
        headers=as_("socieux_team"),
    )
    assert response.status_code == 200, response.json()
    assert response.json()["state"] == "revision_requested"
    assert client.get(f"{url}/history").json()[-1]["reason"] == "Narrow it down."


def test_a_stale_if_match_is_409_and_records_nothing(client: TestClient) -> None:
    created = submit(client)
    url, read_by_both = created.headers["Location"], created.headers["ETag"]
    first = client.post(
        f"{url}/request_opinion",
        json={},
        headers=as_("socieux_team", **{"If-Match": read_by_both}),
    )
    assert first.status_code == 200
    second = client.post(
        f"{url}/return_for_revision",
        json={"reason": "Too broad."},
        headers=as_("socieux_team", **{"If-Match": read_by_both}),
    )
    assert second.status_code == 409
    assert second.json()["error"] | {"message": ""} == {
        "code": "concurrency_conflict",
        "message": "",
        "instance_id": created.json()["id"],
        "expected": 1,
        "actual": 2,
        "attempts": 1,
    }
    assert client.get(url).json()["state"] == "consulting_delegation"


@pytest.mark.parametrize("if_match", ["2", 'W/"1"', '"1", "2"', '"one"'])
def test_a_malformed_if_match_is_400(client: TestClient, if_match: str) -> None:
    url = submit(client).headers["Location"]
    response = client.post(
        f"{url}/fine_tune",
        json={"data": payload("fine_tune")},
        headers=as_("socieux_team", **{"If-Match": if_match}),
    )
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "bad_request"
    assert client.get(url).json()["version"] == 1


def test_if_match_star_fires_whatever_the_version(client: TestClient) -> None:
    url = submit(client).headers["Location"]
    response = client.post(
        f"{url}/request_opinion", json={}, headers=as_("socieux_team", **{"If-Match": "*"})
    )
    assert response.status_code == 200


def test_the_wrong_role_is_403(socieux_engine: Engine, client: TestClient) -> None:
    view = walk_to(socieux_engine, "fine_tuned")
    response = client.post(
        f"/requests/{view.id}/approve",
        json={"data": payload("approve")},
        headers=as_("socieux_team"),
    )
    assert response.status_code == 403
    error = response.json()["error"]
    assert (error["code"], error["rule"], error["role"]) == (
        "permission_denied",
        "role",
        "socieux_team",
    )
    assert socieux_engine.get(view.id).state == "fine_tuned"


def test_a_command_without_a_caller_is_401(client: TestClient) -> None:
    response = client.post("/requests", json=payload("submit"))
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "unauthorized"
    assert client.get("/requests").json() == []


def test_an_invalid_payload_is_422_with_the_field_errors(client: TestClient) -> None:
    bad = payload("submit", country=5, contact={"name": "Sokha Chan"})
    response = client.post("/requests", json=bad, headers=as_("partner"))
    assert response.status_code == 422
    error = response.json()["error"]
    assert error["code"] == "invalid_payload"
    assert {tuple(e["loc"]) for e in error["errors"]} == {("country",), ("contact", "email")}
    assert client.get("/requests").json() == []


def test_a_guard_refusal_is_422_with_each_reason(
    socieux_engine: Engine, client: TestClient
) -> None:
    view = walk_to(socieux_engine, "approved")
    response = client.post(
        f"/requests/{view.id}/mobilise", json={"data": {"experts": []}}, headers=as_("socieux_team")
    )
    assert response.status_code == 422
    error = response.json()["error"]
    assert error["code"] == "guard_rejected"
    assert error["failures"]


def test_a_trigger_not_allowed_from_the_state_is_409(
    socieux_engine: Engine, client: TestClient
) -> None:
    view = walk_to(socieux_engine, "submitted")
    response = client.post(f"/requests/{view.id}/disseminate", headers=as_("socieux_team"))
    assert response.status_code == 409
    error = response.json()["error"]
    assert error["code"] == "transition_not_allowed"
    assert "fine_tune" in error["allowed"]


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", ""),
        ("GET", "/history"),
        ("GET", "/allowed"),
        ("POST", "/fine_tune"),
    ],
)
def test_an_unknown_id_is_404(client: TestClient, method: str, path: str) -> None:
    missing = uuid.uuid4()
    response = client.request(method, f"/requests/{missing}{path}", headers=as_("socieux_team"))
    assert response.status_code == 404
    assert response.json()["error"] == {
        "code": "instance_not_found",
        "instance_id": str(missing),
        "message": f"workflow instance {missing} not found",
    }


def test_an_id_that_is_not_a_uuid_is_422_in_the_same_envelope(client: TestClient) -> None:
    response = client.get("/requests/not-an-id")
    assert response.status_code == 422
    error = response.json()["error"]
    assert error["code"] == "invalid_request"
    assert error["errors"][0]["loc"] == ["path", "instance_id"]


@pytest.mark.parametrize(
    ("error", "status"),
    [
        (InvalidPayload("submit", [{"loc": ("country",), "msg": "required"}]), 422),
        (GuardRejected("mobilise", [{"name": "experts_cover_plan", "reason": "no expert"}]), 422),
        (PermissionDenied("approve", "expert", "e-1", "role", "not allowed"), 403),
        (ConcurrencyConflict("i-1", expected=1, actual=2, attempts=1), 409),
        (TransitionNotAllowed("submitted", "disseminate", ["fine_tune"]), 409),
        (InstanceNotFound("i-1"), 404),
        (UnknownWorkflow("grants"), 404),
        (InvalidArgument("ambiguous id prefix"), 400),
        (StorageUnavailable("database is locked"), 503),
        (IntegrityViolation("event 3 was altered"), 500),
    ],
)
def test_each_engine_error_has_its_status_and_body(error: EngineError, status: int) -> None:
    response = engine_error_response(error)
    assert response.status_code == status
    assert json.loads(bytes(response.body)) == {"error": json.loads(json.dumps(error.to_dict()))}


def test_storage_unavailable_asks_to_retry() -> None:
    assert engine_error_response(StorageUnavailable("down")).headers["Retry-After"] == "1"


# ---------------------------------------------------------------- reads
def test_get_answers_304_to_its_own_etag(client: TestClient) -> None:
    url = submit(client).headers["Location"]
    fresh = client.get(url)
    assert client.get(url, headers={"If-None-Match": fresh.headers["ETag"]}).status_code == 304
    client.post(f"{url}/request_opinion", json={}, headers=as_("socieux_team"))
    changed = client.get(url, headers={"If-None-Match": fresh.headers["ETag"]})
    assert changed.status_code == 200
    assert changed.headers["ETag"] == '"2"'


def test_allowed_tells_the_caller_what_they_may_fire(client: TestClient) -> None:
    url = submit(client).headers["Location"]
    report = client.get(f"{url}/allowed", headers=as_("socieux_team")).json()
    assert set(report["allowed"]) == {"return_for_revision", "reject", "request_opinion"}
    refused = {r["trigger"]: r["code"] for r in report["refused"]}
    assert refused["approve"] == "transition_not_allowed"
    assert refused["fine_tune"] == "guard_rejected"  # no opinion on file, nor a plan
    assert client.get(f"{url}/allowed").status_code == 401


def test_lists_and_figures_read_through_the_projections(
    socieux_engine: Engine, client: TestClient
) -> None:
    approved = walk_to(socieux_engine, "approved")
    walk_to(socieux_engine, "submitted", data_overrides={"submit": {"country": "PE"}})

    rows = client.get("/requests", params={"state": "approved"}).json()
    assert [(r["id"], r["state"], r["country"]) for r in rows] == [
        (str(approved.id), "approved", "KH")
    ]
    assert [r["state"] for r in client.get("/requests", params={"country": "PE"}).json()] == [
        "submitted"
    ]
    assert len(client.get("/requests").json()) == 2
    assert client.get("/requests", params={"limit": 0}).status_code == 422
    figures = client.get("/portfolio").json()
    assert figures["total"] == 2
    assert figures["by_state"] == {"approved": 1, "submitted": 1}


# ---------------------------------------------------------------- correlation and the outbox
def test_the_request_id_is_echoed_and_recorded_as_the_correlation_id(
    socieux_engine: Engine,
    client: TestClient,
) -> None:
    view = walk_to(socieux_engine, "fine_tuned")
    response = client.post(
        f"/requests/{view.id}/approve",
        json={"data": payload("approve")},
        headers=as_("commission", **{"X-Request-Id": "req-approve-42"}),
    )
    assert response.headers["X-Request-Id"] == "req-approve-42"
    assert socieux_engine.history(view.id)[-1].correlation_id == "req-approve-42"
    socieux_engine.drain_hooks()
    assert [m["correlation_id"] for m in client.get("/outbox").json()] == ["req-approve-42"]


def test_without_a_request_id_one_is_made_echoed_and_recorded(client: TestClient) -> None:
    created = submit(client)
    request_id = created.headers["X-Request-Id"]
    assert len(request_id) == 32
    history = client.get(f"{created.headers['Location']}/history").json()
    assert history[0]["correlation_id"] == request_id
    assert client.get("/requests").headers["X-Request-Id"] != request_id


def test_error_responses_echo_the_request_id_too(client: TestClient) -> None:
    response = client.get(f"/requests/{uuid.uuid4()}", headers={"X-Request-Id": "req-404"})
    assert response.status_code == 404
    assert response.headers["X-Request-Id"] == "req-404"


def test_each_approval_queues_one_message_even_when_delivered_again(
    socieux_engine: Engine,
    client: TestClient,
) -> None:
    first, second = (walk_to(socieux_engine, "fine_tuned") for _ in range(2))
    for view in (first, second):
        client.post(
            f"/requests/{view.id}/approve",
            json={"data": payload("approve")},
            headers=as_("commission"),
        )
    walk_to(socieux_engine, "mobilised")  # approved too, by the engine directly
    socieux_engine.drain_hooks()
    messages = client.get("/outbox").json()
    assert len(messages) == 3
    assert [m["instance_id"] for m in messages[:2]] == [str(first.id), str(second.id)]
    assert {m["recipient"] for m in messages} == {"EU Delegation"}
    assert "INTPA/2024/0042" in messages[0]["subject"]

    # Redelivery: a second subscriber replays every approval into the same outbox.
    outbox: Outbox = client.app.state.outbox  # type: ignore[attr-defined]
    socieux_engine.subscribe(
        outbox.queue_approval_notice,
        name="replay",
        triggers=["approve"],
        start="beginning",
        max_attempts=1,
    )
    socieux_engine.drain_hooks()
    assert socieux_engine.parked() == []
    assert client.get("/outbox").json() == messages


def test_an_app_without_an_engine_opens_and_closes_its_own(tmp_path: Path) -> None:
    url, outbox_path = f"sqlite:///{tmp_path / 'socieux.db'}", str(tmp_path / "outbox.db")
    with TestClient(create_app(url=url, outbox_path=outbox_path)) as client:
        engine: Engine = client.app.state.engine  # type: ignore[attr-defined]
        view = walk_to(engine, "fine_tuned")
        approved = client.post(
            f"/requests/{view.id}/approve",
            json={"data": payload("approve")},
            headers=as_("commission"),
        )
        assert approved.status_code == 200
        engine.drain_hooks()

    with Engine.open(url) as reopened:
        assert reopened.get(view.id).state == "approved"
        notifier = next(s for s in reopened.subscriptions() if s.name == NOTIFIER)
        assert (notifier.position, notifier.owner) == (5, None)  # delivered, lease released
    outbox = Outbox(outbox_path)
    try:
        assert [m.instance_id for m in outbox.messages()] == [str(view.id)]
    finally:
        outbox.close()


def test_the_app_serves_concurrent_requests_on_a_sqlite_file(tmp_path: Path) -> None:
    """Sync endpoints run in a thread pool: one engine shared by many requests at once."""
    from concurrent.futures import ThreadPoolExecutor

    with Engine.open(f"sqlite:///{tmp_path / 'app.db'}") as engine:
        with TestClient(create_app(engine)) as client:
            urls = [submit(client).headers["Location"] for _ in range(32)]

            def work(url: str) -> list[int]:
                codes = [client.get(url).status_code, client.get("/requests").status_code]
                response = client.post(
                    f"{url}/request_opinion", json={}, headers=as_("socieux_team")
                )
                codes += [response.status_code, client.get(f"{url}/history").status_code]
                return codes

            with ThreadPoolExecutor(max_workers=8) as pool:
                results = list(pool.map(work, urls))
        codes = {c for r in results for c in r}
        assert codes == {200}, sorted(codes)
        states = {engine.get(u.rsplit("/", 1)[-1]).state for u in urls}
        assert states == {"consulting_delegation"}
        assert sum(len(engine.history(u.rsplit("/", 1)[-1])) for u in urls) == 64


def test_the_list_has_its_total_and_link_headers(
    socieux_engine: Engine, client: TestClient
) -> None:
    for _ in range(5):
        walk_to(socieux_engine, "submitted")
    walk_to(socieux_engine, "approved")

    first = client.get("/requests", params={"state": "submitted", "limit": 2})
    assert first.headers["X-Total-Count"] == "5"
    assert len(first.json()) == 2
    assert first.headers["Link"] == (
        '<http://testserver/requests?state=submitted&limit=2&offset=2>; rel="next"'
    )
    middle = client.get("/requests", params={"state": "submitted", "limit": 2, "offset": 2})
    assert middle.headers["Link"] == (
        '<http://testserver/requests?state=submitted&limit=2&offset=4>; rel="next", '
        '<http://testserver/requests?state=submitted&limit=2&offset=0>; rel="prev"'
    )
    last = client.get("/requests", params={"state": "submitted", "limit": 2, "offset": 4})
    assert len(last.json()) == 1
    assert last.headers["Link"] == (
        '<http://testserver/requests?state=submitted&limit=2&offset=2>; rel="prev"'
    )
    seen = {r["id"] for page in (first, middle, last) for r in page.json()}
    assert len(seen) == 5

    everything = client.get("/requests")
    assert everything.headers["X-Total-Count"] == "6"
    assert "Link" not in everything.headers  # one page
    beyond = client.get("/requests", params={"limit": 2, "offset": 10})
    assert beyond.json() == []
    assert beyond.headers["Link"] == '<http://testserver/requests?limit=2&offset=4>; rel="prev"'


def test_a_trigger_the_workflow_does_not_have_is_409_not_500(client: TestClient) -> None:
    url = submit(client).headers["Location"]
    response = client.post(f"{url}/no_such_trigger", json={}, headers=as_("socieux_team"))
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "unknown_trigger"
