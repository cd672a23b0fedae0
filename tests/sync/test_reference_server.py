"""The reference server itself, exercised with plain httpx: if these pass, a failing sync test
is about the client, not about the fixture."""

from __future__ import annotations

import contextlib
import json
import logging
import re
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Any
from urllib.parse import unquote

import httpx
import pytest

from tests.sync.reference_server import (
    FAULT_KINDS,
    ApiError,
    Fault,
    FaultPlan,
    ReferenceServer,
)

ISO_UTC = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$")
CASE_KEYS = {
    "case_id",
    "user_id",
    "patient_name",
    "patient_age",
    "patient_gender",
    "case_summary",
    "status",
    "created_at",
    "updated_at",
}
FILE_KEYS = {"file_id", "file_name", "file_type", "file_size", "file_url", "file_category"}
INSIGHT_TEXTS = (
    "comprehensive_summary",
    "soap_subjective",
    "soap_objective",
    "soap_assessment",
    "soap_plan",
    "primary_diagnosis",
    "icd_code",
    "diagnosis_description",
)
INSIGHT_LISTS = ("key_findings", "supporting_evidence")
INSIGHT_SCORES = (
    "summary_confidence_score",
    "soap_confidence_score",
    "diagnosis_confidence_score",
    "overall_confidence_score",
)
PATIENT = {
    "user_id": "u1",
    "patient_name": "Asha Rao",
    "patient_age": "40",
    "patient_gender": "female",
}
PDF = b"%PDF-1.4 reference"


@pytest.fixture
def client(reference_server: ReferenceServer) -> Iterator[httpx.Client]:
    # trust_env=False: a proxy from the environment must never see 127.0.0.1 traffic.
    with httpx.Client(
        base_url=reference_server.base_url,
        headers={"Authorization": f"Bearer {reference_server.token}"},
        trust_env=False,
        timeout=5.0,
    ) as opened:
        yield opened


@pytest.fixture
def anonymous(reference_server: ReferenceServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=reference_server.base_url, trust_env=False, timeout=5.0) as opened:
        yield opened


def create(client: httpx.Client, files: list[tuple[str, Any]] | None = None, **fields: str):
    return client.post("/cases/create_case", data={**PATIENT, **fields}, files=files or None)


def create_ok(client: httpx.Client, **fields: str) -> dict[str, Any]:
    files = [
        ("lab_files", ("cbc.pdf", PDF, "application/pdf")),
        ("radiology_files", ("chest.png", b"\x89PNG scan", "image/png")),
    ]
    answer = create(client, files, **fields)
    assert answer.status_code == 201, answer.text
    return answer.json()


def wait_status(client: httpx.Client, case_id: str, status: str) -> dict[str, Any]:
    deadline = time.monotonic() + 5
    while True:
        detail = client.get(f"/cases/cases/{case_id}").json()
        if detail["case"]["status"] == status or time.monotonic() > deadline:
            return detail
        time.sleep(0.02)


def detail_of(answer: httpx.Response) -> str:
    return answer.json()["detail"]


# ---------------------------------------------------------------------------------------------
# The fixture


def test_fixture_gives_a_fresh_running_server(
    reference_server: ReferenceServer, client: httpx.Client
) -> None:
    assert reference_server.base_url.startswith("http://127.0.0.1:")
    assert reference_server.cases() == []
    assert reference_server.requests == []
    assert reference_server.faults.pending() == []
    assert reference_server.processing_seconds == 0.2
    assert client.get("/cases/all_cases", params={"user_id": "u1"}).json() == {"cases": []}


def test_reset_forgets_everything_but_the_server_token(
    reference_server: ReferenceServer, client: httpx.Client
) -> None:
    create_ok(client)
    extra = reference_server.issue_token("u2")
    reference_server.faults.add("GET", "/cases", "500")
    reference_server.processing_seconds = 3
    fake = datetime(2026, 3, 4, 10, 30, tzinfo=UTC)
    reference_server.clock = lambda: fake

    reference_server.reset()

    assert reference_server.cases() == []
    assert reference_server.requests == []
    assert reference_server.faults.pending() == []
    assert reference_server.processing_seconds == 0.2
    assert reference_server.clock() > fake
    assert client.get("/cases/all_cases", params={"user_id": "u1"}).status_code == 200
    revoked = client.get(
        "/cases/all_cases", params={"user_id": "u1"}, headers={"Authorization": f"Bearer {extra}"}
    )
    assert revoked.status_code == 401


def test_a_server_of_its_own_starts_fast_and_stops_fast() -> None:
    began = time.monotonic()
    with ReferenceServer() as server:
        started = time.monotonic() - began
        with httpx.Client(trust_env=False) as plain:
            answer = plain.get(
                f"{server.base_url}/cases/all_cases",
                params={"user_id": "u"},
                headers={"Authorization": f"Bearer {server.token}"},
            )
        assert answer.status_code == 200
        began = time.monotonic()
    stopped = time.monotonic() - began
    assert started < 1.0
    assert stopped < 1.0


# ---------------------------------------------------------------------------------------------
# Authentication

ENDPOINTS = [
    ("POST", "/cases/create_case"),
    ("GET", "/cases/all_cases?user_id=u1"),
    ("GET", "/cases/cases/x"),
    ("PUT", "/cases/cases/x"),
    ("DELETE", "/cases/cases/x"),
    ("POST", "/cases/analyze/x"),
    ("POST", "/cases/upload"),
    ("GET", "/cases/files/x"),
    ("GET", "/cases/file/x"),
    ("DELETE", "/cases/file/x?case_id=x"),
]


@pytest.mark.parametrize(("method", "path"), ENDPOINTS)
@pytest.mark.parametrize("authorization", [None, "Bearer wrong", "Basic {token}", "{token}"])
def test_every_endpoint_needs_a_valid_bearer_token(
    reference_server: ReferenceServer,
    anonymous: httpx.Client,
    method: str,
    path: str,
    authorization: str | None,
) -> None:
    headers = {}
    if authorization is not None:
        headers["Authorization"] = authorization.format(token=reference_server.token)
    answer = anonymous.request(method, path, headers=headers, data=PATIENT)
    assert answer.status_code == 401
    assert answer.json() == {"detail": "Not authenticated"}
    assert answer.headers["www-authenticate"] == "Bearer"
    assert reference_server.cases() == []


def test_issued_tokens_work_until_revoked(
    reference_server: ReferenceServer, anonymous: httpx.Client
) -> None:
    token = reference_server.issue_token("u1")
    auth = {"Authorization": f"Bearer {token}"}
    assert anonymous.get("/cases/all_cases?user_id=u1", headers=auth).status_code == 200
    reference_server.revoke_token(token)
    assert anonymous.get("/cases/all_cases?user_id=u1", headers=auth).status_code == 401


# ---------------------------------------------------------------------------------------------
# Cases


def test_create_case_answers_the_case_and_its_files(
    reference_server: ReferenceServer, client: httpx.Client
) -> None:
    body = create_ok(client, case_summary="Fever for three days")

    assert body["message"] == "Case created successfully"
    case = body["case"]
    assert set(case) == CASE_KEYS
    assert uuid.UUID(case["case_id"]).version == 4
    assert case["user_id"] == "u1"
    assert case["patient_name"] == "Asha Rao"
    assert case["patient_age"] == 40
    assert case["patient_gender"] == "female"
    assert case["case_summary"] == "Fever for three days"
    assert case["status"] == "processing"
    assert ISO_UTC.match(case["created_at"]) and ISO_UTC.match(case["updated_at"])

    lab, scan = body["uploaded_files"]
    assert set(lab) == FILE_KEYS
    assert lab["file_name"] == "cbc.pdf"
    assert lab["file_type"] == "application/pdf"
    assert lab["file_size"] == len(PDF)
    assert lab["file_category"] == "lab"
    assert lab["file_url"] == f"lab_files/{case['case_id']}/cbc.pdf"
    assert scan["file_category"] == "radiology"
    assert scan["file_type"] == "image/png"
    assert reference_server.file_bytes(lab["file_id"]) == PDF
    assert reference_server.cases() == [case]
    assert reference_server.files_of(case["case_id"]) == [lab, scan]


def test_create_case_without_files_or_summary(client: httpx.Client) -> None:
    answer = create(client)
    assert answer.status_code == 201
    assert answer.json()["case"]["case_summary"] == ""
    assert answer.json()["uploaded_files"] == []


@pytest.mark.parametrize(
    "name", ["Größe befund.pdf", "../up.pdf", "a/b.pdf", "x.y.z", "報告.png", "name with 'q'.pdf"]
)
def test_file_names_are_stored_as_sent(client: httpx.Client, name: str) -> None:
    answer = create(client, [("lab_files", (name, b"x", "application/pdf"))])
    assert answer.json()["uploaded_files"][0]["file_name"] == name


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"user_id": None}, "user_id"),
        ({"user_id": " "}, "user_id"),
        ({"patient_name": None}, "patient_name"),
        ({"patient_name": ""}, "patient_name"),
        ({"patient_age": None}, "patient_age"),
        ({"patient_age": "forty"}, "patient_age"),
        ({"patient_age": "4.5"}, "patient_age"),
        ({"patient_age": "-1"}, "patient_age"),
        ({"patient_age": "151"}, "patient_age"),
        ({"patient_gender": None}, "patient_gender"),
        ({"patient_gender": "Female"}, "patient_gender"),
        ({"patient_gender": "unknown"}, "patient_gender"),
    ],
)
def test_create_case_rejects_bad_fields_naming_them(
    reference_server: ReferenceServer, client: httpx.Client, changes: dict[str, Any], field: str
) -> None:
    data = {k: v for k, v in {**PATIENT, **changes}.items() if v is not None}
    answer = client.post(
        "/cases/create_case", data=data, files=[("lab_files", ("a.pdf", b"x", "application/pdf"))]
    )
    assert answer.status_code == 400
    assert field in detail_of(answer)
    assert reference_server.cases() == []


def test_create_case_rejects_text_where_a_file_belongs(
    reference_server: ReferenceServer, client: httpx.Client
) -> None:
    answer = client.post(
        "/cases/create_case",
        data={**PATIENT, "lab_files": "not a file"},
        files=[("radiology_files", ("a.png", b"x", "image/png"))],
    )
    assert answer.status_code == 400
    assert "lab_files" in detail_of(answer)
    assert reference_server.cases() == []


def test_all_cases_lists_one_users_cases_oldest_first(
    reference_server: ReferenceServer, client: httpx.Client
) -> None:
    first = create_ok(client)["case"]
    create_ok(client, user_id="u2")
    second = create_ok(client, patient_name="Later")["case"]

    listed = client.get("/cases/all_cases", params={"user_id": "u1"})
    assert listed.status_code == 200
    assert [c["case_id"] for c in listed.json()["cases"]] == [first["case_id"], second["case_id"]]
    assert client.get("/cases/all_cases", params={"user_id": "nobody"}).json() == {"cases": []}
    missing = client.get("/cases/all_cases")
    assert missing.status_code == 400
    assert "user_id" in detail_of(missing)
    assert len(reference_server.cases()) == 3
    assert len(reference_server.cases("u2")) == 1


def test_case_is_processing_then_completed_with_insights(client: httpx.Client) -> None:
    created = create_ok(client, case_summary="Fever")
    case_id = created["case"]["case_id"]

    early = client.get(f"/cases/cases/{case_id}")
    assert early.status_code == 200
    assert early.json()["case"]["status"] == "processing"
    assert early.json()["ai_insights"] is None
    assert early.json()["files"] == created["uploaded_files"]

    done = wait_status(client, case_id, "completed")
    assert done["case"]["status"] == "completed"
    insights = done["ai_insights"]
    for name in INSIGHT_TEXTS:
        assert isinstance(insights[name], str) and insights[name]
    for name in INSIGHT_LISTS:
        assert insights[name] and all(isinstance(item, str) for item in insights[name])
    for name in INSIGHT_SCORES:
        assert isinstance(insights[name], float) and 0 <= insights[name] <= 1
    assert "2 file(s)" in insights["comprehensive_summary"]
    assert "40-year-old" in insights["comprehensive_summary"]
    assert ISO_UTC.match(done["case"]["updated_at"])


def test_insights_are_deterministic(client: httpx.Client) -> None:
    one = create_ok(client)["case"]["case_id"]
    two = create_ok(client)["case"]["case_id"]
    first = wait_status(client, one, "completed")["ai_insights"]
    second = wait_status(client, two, "completed")["ai_insights"]
    assert {**first, "case_id": None} == {**second, "case_id": None}


def test_unknown_case_is_404_everywhere(client: httpx.Client) -> None:
    expected = {"detail": "Case with ID nope not found"}
    assert client.get("/cases/cases/nope").json() == expected
    for answer in (
        client.get("/cases/cases/nope"),
        client.put("/cases/cases/nope", json={"patient_age": 3}),
        client.delete("/cases/cases/nope"),
        client.post("/cases/analyze/nope"),
        client.get("/cases/files/nope"),
        client.post(
            "/cases/upload",
            data={"case_id": "nope", "category": "lab"},
            files={"file": ("a.pdf", b"x", "application/pdf")},
        ),
    ):
        assert answer.status_code == 404
        assert answer.json() == expected


def test_processing_can_be_held_failed_or_finished(
    reference_server: ReferenceServer, client: httpx.Client
) -> None:
    reference_server.processing_seconds = float("inf")
    case_id = create_ok(client)["case"]["case_id"]
    time.sleep(0.3)
    assert client.get(f"/cases/cases/{case_id}").json()["case"]["status"] == "processing"

    reference_server.set_status(case_id, "failed")
    failed = client.get(f"/cases/cases/{case_id}").json()
    assert failed["case"]["status"] == "failed"
    assert failed["ai_insights"] is None

    reference_server.set_status(case_id, "completed")
    assert reference_server.case_detail(case_id)["ai_insights"]["icd_code"] == "I10"


def test_update_case_changes_the_given_fields(
    reference_server: ReferenceServer, client: httpx.Client
) -> None:
    moments = iter(
        [datetime(2026, 3, 4, 10, 30, tzinfo=UTC), datetime(2026, 3, 4, 11, 0, 5, tzinfo=UTC)]
    )
    reference_server.clock = lambda: next(moments)
    case = create_ok(client)["case"]
    assert case["created_at"] == case["updated_at"] == "2026-03-04T10:30:00Z"

    answer = client.put(
        f"/cases/cases/{case['case_id']}",
        json={"patient_age": 41, "case_summary": "Better", "patient_gender": "other"},
    )
    assert answer.status_code == 200
    body = answer.json()
    assert body["message"] == "Case updated successfully"
    assert body["case"] == {
        **case,
        "patient_age": 41,
        "case_summary": "Better",
        "patient_gender": "other",
        "updated_at": "2026-03-04T11:00:05Z",
    }
    assert reference_server.cases()[0]["patient_age"] == 41


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"patient_age": "x"}, "patient_age"),
        ({"patient_age": -5}, "patient_age"),
        ({"patient_age": True}, "patient_age"),
        ({"patient_age": 4.5}, "patient_age"),
        ({"patient_gender": "M"}, "patient_gender"),
        ({"patient_name": ""}, "patient_name"),
        ({"case_summary": 5}, "case_summary"),
        ({"status": "completed"}, "status"),
        ([1, 2], "JSON object"),
    ],
)
def test_update_case_rejects_bad_values(
    reference_server: ReferenceServer, client: httpx.Client, body: Any, field: str
) -> None:
    case = create_ok(client)["case"]
    answer = client.put(f"/cases/cases/{case['case_id']}", json=body)
    assert answer.status_code == 400
    assert field in detail_of(answer)
    assert reference_server.cases() == [case]


def test_update_case_rejects_a_body_that_is_not_json(client: httpx.Client) -> None:
    case_id = create_ok(client)["case"]["case_id"]
    answer = client.put(f"/cases/cases/{case_id}", content=b"{nope")
    assert answer.status_code == 400
    assert "JSON" in detail_of(answer)


def test_delete_case_removes_it_and_its_files(
    reference_server: ReferenceServer, client: httpx.Client
) -> None:
    body = create_ok(client)
    case_id = body["case"]["case_id"]
    answer = client.delete(f"/cases/cases/{case_id}")
    assert answer.status_code == 200
    assert answer.json() == {"message": "Case deleted successfully"}
    assert client.get(f"/cases/cases/{case_id}").status_code == 404
    assert client.get(f"/cases/file/{body['uploaded_files'][0]['file_id']}").status_code == 404
    assert reference_server.cases() == []
    assert client.delete(f"/cases/cases/{case_id}").status_code == 404


def test_analyze_restarts_processing(client: httpx.Client) -> None:
    case_id = create_ok(client)["case"]["case_id"]
    wait_status(client, case_id, "completed")

    answer = client.post(f"/cases/analyze/{case_id}")
    assert answer.status_code == 200
    assert answer.json() == {
        "message": "Analysis started",
        "case_id": case_id,
        "status": "processing",
    }
    again = client.get(f"/cases/cases/{case_id}").json()
    assert again["case"]["status"] == "processing"
    assert again["ai_insights"] is None
    assert wait_status(client, case_id, "completed")["ai_insights"] is not None


# ---------------------------------------------------------------------------------------------
# Files


def upload(client: httpx.Client, case_id: str, category: str = "lab", data: bytes = b"more"):
    return client.post(
        "/cases/upload",
        data={"case_id": case_id, "category": category},
        files={"file": ("extra.txt", data, "text/plain")},
    )


def test_upload_adds_a_file_and_restarts_processing(
    reference_server: ReferenceServer, client: httpx.Client
) -> None:
    case_id = create_ok(client)["case"]["case_id"]
    wait_status(client, case_id, "completed")

    answer = upload(client, case_id, "radiology")
    assert answer.status_code == 201
    assert answer.json()["message"] == "File uploaded successfully"
    stored = answer.json()["file"]
    assert set(stored) == FILE_KEYS
    assert (stored["file_name"], stored["file_category"], stored["file_size"]) == (
        "extra.txt",
        "radiology",
        4,
    )
    assert client.get(f"/cases/cases/{case_id}").json()["case"]["status"] == "processing"
    assert client.get(f"/cases/files/{case_id}").json()["files"][-1] == stored
    done = wait_status(client, case_id, "completed")
    assert "3 file(s)" in done["ai_insights"]["comprehensive_summary"]
    assert reference_server.file_bytes(stored["file_id"]) == b"more"


@pytest.mark.parametrize(
    ("data", "files", "field"),
    [
        ({"category": "lab"}, {"file": ("a.txt", b"x")}, "case_id"),
        ({"category": "xray"}, {"file": ("a.txt", b"x")}, "category"),
        ({"category": "lab"}, None, "file"),
    ],
)
def test_upload_rejects_bad_requests(
    reference_server: ReferenceServer,
    client: httpx.Client,
    data: dict[str, str],
    files: Any,
    field: str,
) -> None:
    case_id = create_ok(client)["case"]["case_id"]
    if field != "case_id":
        data = {**data, "case_id": case_id}
    answer = client.post("/cases/upload", data=data, files=files)
    assert answer.status_code == 400
    assert field in detail_of(answer)
    assert len(reference_server.files_of(case_id)) == 2


def test_download_gives_bytes_type_and_file_name(client: httpx.Client) -> None:
    stored = create_ok(client)["uploaded_files"][0]
    answer = client.get(f"/cases/file/{stored['file_id']}")
    assert answer.status_code == 200
    assert answer.content == PDF
    assert answer.headers["content-type"] == "application/pdf"
    assert 'filename="cbc.pdf"' in answer.headers["content-disposition"]
    missing = client.get("/cases/file/nope")
    assert missing.status_code == 404
    assert missing.json() == {"detail": "File with ID nope not found"}


def test_delete_file_needs_the_right_case(
    reference_server: ReferenceServer, client: httpx.Client
) -> None:
    body = create_ok(client)
    case_id, file_id = body["case"]["case_id"], body["uploaded_files"][0]["file_id"]
    other = create_ok(client)["case"]["case_id"]

    assert client.delete(f"/cases/file/{file_id}", params={"case_id": other}).status_code == 404
    no_case = client.delete(f"/cases/file/{file_id}")
    assert no_case.status_code == 400
    assert "case_id" in detail_of(no_case)
    assert len(reference_server.files_of(case_id)) == 2

    answer = client.delete(f"/cases/file/{file_id}", params={"case_id": case_id})
    assert answer.status_code == 200
    assert answer.json() == {"message": "File deleted successfully"}
    assert [f["file_category"] for f in reference_server.files_of(case_id)] == ["radiology"]
    again = client.delete(f"/cases/file/{file_id}", params={"case_id": case_id})
    assert again.status_code == 404


@pytest.mark.parametrize(
    "hostile", ["../../etc/passwd", "C:\\x\\evil.exe", "/abs/path.pdf", 'q"uote\r\n.pdf', "é/../x"]
)
def test_hostile_file_names_reach_the_client(
    reference_server: ReferenceServer, client: httpx.Client, hostile: str
) -> None:
    body = create_ok(client)
    case_id, file_id = body["case"]["case_id"], body["uploaded_files"][0]["file_id"]
    reference_server.set_file_name(file_id, hostile)

    assert client.get(f"/cases/files/{case_id}").json()["files"][0]["file_name"] == hostile
    assert client.get(f"/cases/cases/{case_id}").json()["files"][0]["file_name"] == hostile
    download = client.get(f"/cases/file/{file_id}")
    assert download.content == PDF
    encoded = download.headers["content-disposition"].split("filename*=UTF-8''", 1)[1]
    assert unquote(encoded) == hostile


# ---------------------------------------------------------------------------------------------
# Helpers acting as another workstation


def test_add_update_and_delete_as_another_workstation(
    reference_server: ReferenceServer, client: httpx.Client
) -> None:
    added = reference_server.add_case(
        "u1", "Ravi", 61, "male", "Chest pain", files=[("ecg.pdf", "lab", PDF, "application/pdf")]
    )
    assert set(added) == CASE_KEYS and added["status"] == "processing"
    listed = client.get("/cases/all_cases", params={"user_id": "u1"}).json()["cases"]
    assert listed == [added]
    (stored,) = reference_server.files_of(added["case_id"])
    assert client.get(f"/cases/file/{stored['file_id']}").content == PDF

    updated = reference_server.update_case(added["case_id"], patient_name="Ravi K")
    remote = client.get(f"/cases/cases/{added['case_id']}").json()["case"]
    assert updated["patient_name"] == remote["patient_name"] == "Ravi K"

    reference_server.delete_case(added["case_id"])
    assert client.get(f"/cases/cases/{added['case_id']}").status_code == 404
    # Helpers are not HTTP requests, so only the client's own show in the log.
    assert [m for m, _ in reference_server.requests] == ["GET", "GET", "GET", "GET"]


def test_helpers_validate_like_the_api(reference_server: ReferenceServer) -> None:
    with pytest.raises(ApiError, match="patient_age"):
        reference_server.add_case("u1", "A", 200, "male")
    case_id = reference_server.add_case("u1", "A", 20, "male")["case_id"]
    with pytest.raises(ApiError, match="patient_gender"):
        reference_server.update_case(case_id, patient_gender="x")
    with pytest.raises(ApiError, match="not found"):
        reference_server.delete_case("nope")


def test_requests_are_logged_in_order_without_query(
    reference_server: ReferenceServer, client: httpx.Client, anonymous: httpx.Client
) -> None:
    case_id = create_ok(client)["case"]["case_id"]
    client.get("/cases/all_cases", params={"user_id": "u1"})
    anonymous.delete(f"/cases/cases/{case_id}")
    assert reference_server.requests == [
        ("POST", "/cases/create_case"),
        ("GET", "/cases/all_cases"),
        ("DELETE", f"/cases/cases/{case_id}"),
    ]


# ---------------------------------------------------------------------------------------------
# Faults


def test_fault_plan_validates_and_consumes_in_order() -> None:
    plan = FaultPlan()
    with pytest.raises(ValueError, match="unknown fault kind"):
        plan.add("GET", "/cases", "teapot")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="times"):
        plan.add("GET", "/cases", "500", times=0)
    plan.add("get", "/cases/all", "500", times=2)
    plan.add("GET", "/cases/", "503")
    assert plan.take("POST", "/cases/all_cases") is None
    assert [plan.take("GET", "/cases/all_cases").kind for _ in range(3)] == ["500", "500", "503"]  # type: ignore[union-attr]
    assert plan.take("GET", "/cases/all_cases") is None
    assert plan.pending() == []
    assert set(FAULT_KINDS) == {
        "500",
        "503",
        "slow",
        "timeout_after",
        "drop_after",
        "drop_before",
        "malformed_json",
        "wrong_content_type",
        "401",
    }


@pytest.mark.parametrize(
    ("kind", "status", "detail"),
    [
        ("500", 500, "Internal server error: injected"),
        ("503", 503, "Service unavailable: injected"),
        ("401", 401, "Not authenticated"),
    ],
)
def test_error_faults_answer_without_doing_the_work(
    reference_server: ReferenceServer, client: httpx.Client, kind: str, status: int, detail: str
) -> None:
    reference_server.faults.add("POST", "/cases/create_case", kind)  # type: ignore[arg-type]
    files = [("lab_files", ("a.pdf", PDF, "application/pdf"))]
    answer = create(client, files)
    assert answer.status_code == status
    assert answer.json() == {"detail": detail}
    assert reference_server.cases() == []
    # Consumed: the next one goes through.
    assert create(client, files).status_code == 201
    assert len(reference_server.cases()) == 1


def test_faults_match_method_and_path_prefix_only(
    reference_server: ReferenceServer, client: httpx.Client
) -> None:
    case_id = create_ok(client)["case"]["case_id"]
    reference_server.faults.add("GET", "/cases/cases/", "503", times=2)
    reference_server.faults.add("GET", "/cases/cases/", "500")
    assert client.get("/cases/all_cases", params={"user_id": "u1"}).status_code == 200
    assert client.put(f"/cases/cases/{case_id}", json={}).status_code == 200
    codes = [client.get(f"/cases/cases/{case_id}").status_code for _ in range(4)]
    assert codes == [503, 503, 500, 200]
    assert reference_server.faults.pending() == []


def test_pending_faults_show_what_was_not_hit(reference_server: ReferenceServer) -> None:
    reference_server.faults.add("DELETE", "/cases/file/", "drop_after", times=3)
    assert reference_server.faults.pending() == [
        Fault("DELETE", "/cases/file/", "drop_after", 3, 1.0)
    ]


def test_slow_answers_late_without_blocking_others(
    reference_server: ReferenceServer, client: httpx.Client
) -> None:
    reference_server.faults.add("POST", "/cases/create_case", "slow", seconds=0.6)
    with ThreadPoolExecutor(1) as pool:
        began = time.monotonic()
        slow = pool.submit(create, client)
        time.sleep(0.1)
        quick = client.get("/cases/all_cases", params={"user_id": "u1"})
        quick_took = time.monotonic() - began
        answer = slow.result()
        slow_took = time.monotonic() - began
    assert quick.json() == {"cases": []}  # answered while the slow one still waited
    assert quick_took < 0.5
    assert answer.status_code == 201
    assert slow_took >= 0.6
    assert len(reference_server.cases()) == 1


def test_timeout_after_does_the_work_but_the_answer_is_lost(
    reference_server: ReferenceServer, client: httpx.Client
) -> None:
    reference_server.faults.add("POST", "/cases/create_case", "timeout_after", seconds=3)
    with pytest.raises(httpx.ReadTimeout):
        client.post("/cases/create_case", data=PATIENT, timeout=0.3)
    assert len(reference_server.cases()) == 1
    # The held answer does not hold up anyone else.
    assert client.get("/cases/all_cases", params={"user_id": "u1"}).status_code == 200


def test_timeout_after_answers_normally_when_the_client_waits(
    reference_server: ReferenceServer, client: httpx.Client
) -> None:
    case_id = create_ok(client)["case"]["case_id"]
    reference_server.faults.add("GET", "/cases/files/", "timeout_after", seconds=0.3)
    began = time.monotonic()
    answer = client.get(f"/cases/files/{case_id}")
    assert time.monotonic() - began >= 0.3
    assert answer.status_code == 200
    assert len(answer.json()["files"]) == 2


def test_drop_after_does_the_work_and_loses_the_connection(
    reference_server: ReferenceServer, client: httpx.Client, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING)
    case_id = create_ok(client)["case"]["case_id"]
    reference_server.faults.add("POST", "/cases/create_case", "drop_after")
    reference_server.faults.add("POST", "/cases/upload", "drop_after")
    reference_server.faults.add("PUT", "/cases/cases/", "drop_after")

    with pytest.raises(httpx.TransportError):
        create(client, patient_name="Dropped")
    with pytest.raises(httpx.TransportError):
        upload(client, case_id)
    with pytest.raises(httpx.TransportError):
        client.put(f"/cases/cases/{case_id}", json={"patient_age": 77})

    names = [c["patient_name"] for c in reference_server.cases()]
    assert names == ["Asha Rao", "Dropped"]
    assert len(reference_server.files_of(case_id)) == 3
    assert reference_server.cases()[0]["patient_age"] == 77
    assert client.get(f"/cases/cases/{case_id}").status_code == 200
    assert [r for r in caplog.records if r.name.startswith("uvicorn")] == []


@pytest.mark.parametrize("size", [10, 4 * 1024 * 1024])
def test_drop_before_loses_the_connection_without_the_work(
    reference_server: ReferenceServer,
    client: httpx.Client,
    caplog: pytest.LogCaptureFixture,
    size: int,
) -> None:
    caplog.set_level(logging.WARNING)
    case_id = create_ok(client)["case"]["case_id"]
    reference_server.faults.add("POST", "/cases/upload", "drop_before")
    reference_server.faults.add("POST", "/cases/create_case", "drop_before")

    with pytest.raises(httpx.TransportError):
        upload(client, case_id, data=b"x" * size)
    with pytest.raises(httpx.TransportError):
        create(client, patient_name="Never")

    assert len(reference_server.files_of(case_id)) == 2
    assert [c["patient_name"] for c in reference_server.cases()] == ["Asha Rao"]
    assert upload(client, case_id, data=b"x" * size).status_code == 201
    assert [r for r in caplog.records if r.name.startswith("uvicorn")] == []


def test_drop_before_on_a_download_breaks_the_stream(
    reference_server: ReferenceServer, client: httpx.Client
) -> None:
    file_id = create_ok(client)["uploaded_files"][0]["file_id"]
    reference_server.faults.add("GET", "/cases/file/", "drop_before")
    with pytest.raises(httpx.TransportError), client.stream("GET", f"/cases/file/{file_id}") as r:
        r.read()


def test_malformed_json_does_the_work_and_breaks_the_body(
    reference_server: ReferenceServer, client: httpx.Client
) -> None:
    reference_server.faults.add("POST", "/cases/create_case", "malformed_json")
    answer = create(client)
    assert answer.status_code == 200
    assert answer.headers["content-type"] == "application/json"
    assert answer.content == b'{"case": '
    with pytest.raises(json.JSONDecodeError):
        answer.json()
    assert len(reference_server.cases()) == 1


def test_wrong_content_type_does_the_work_and_answers_html(
    reference_server: ReferenceServer, client: httpx.Client
) -> None:
    case_id = create_ok(client)["case"]["case_id"]
    reference_server.faults.add("DELETE", "/cases/cases/", "wrong_content_type")
    answer = client.delete(f"/cases/cases/{case_id}")
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/html")
    assert answer.text == "<html>gateway</html>"
    assert reference_server.cases() == []


def test_reset_releases_a_held_request_without_its_work(
    reference_server: ReferenceServer, client: httpx.Client
) -> None:
    reference_server.faults.add("POST", "/cases/create_case", "slow", seconds=30)
    with ThreadPoolExecutor(1) as pool:
        held = pool.submit(create, client)
        deadline = time.monotonic() + 5
        while not reference_server.requests and time.monotonic() < deadline:
            time.sleep(0.01)
        began = time.monotonic()
        reference_server.reset()
        answer = held.result(timeout=5)
    assert time.monotonic() - began < 1
    assert answer.status_code == 503
    assert reference_server.cases() == []


def test_stop_does_not_hang_on_held_requests() -> None:
    server = ReferenceServer().start()
    auth = {"Authorization": f"Bearer {server.token}"}
    server.faults.add("GET", "/cases/all_cases", "timeout_after", seconds=60)
    server.faults.add("POST", "/cases/create_case", "slow", seconds=60)
    with (
        httpx.Client(base_url=server.base_url, headers=auth, trust_env=False) as plain,
        ThreadPoolExecutor(2) as pool,
    ):
        lost = pool.submit(plain.get, "/cases/all_cases", params={"user_id": "u"}, timeout=10)
        held = pool.submit(plain.post, "/cases/create_case", data=PATIENT, timeout=10)
        deadline = time.monotonic() + 5
        while len(server.requests) < 2 and time.monotonic() < deadline:
            time.sleep(0.01)
        began = time.monotonic()
        server.stop()
        took = time.monotonic() - began
        # Released, not left to their 10 s timeouts: an answer or a broken connection.
        for future in (lost, held):
            with contextlib.suppress(httpx.TransportError):
                future.result(timeout=5)
    assert took < 2.5
    assert server.cases() == []


def test_processing_time_is_settable(
    reference_server: ReferenceServer, client: httpx.Client
) -> None:
    reference_server.processing_seconds = 0
    case_id = create_ok(client)["case"]["case_id"]
    assert client.get(f"/cases/cases/{case_id}").json()["case"]["status"] == "completed"
    with pytest.raises(ValueError, match="processing_seconds"):
        reference_server.processing_seconds = -1
