"""The HTTP client against the reference server: every endpoint, retries on transient
errors only, the server's words in errors, TLS verification that cannot be switched off."""

from __future__ import annotations

import io
import random
import socket
import ssl
import threading
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from medmitra_desktop.domain.enums import DocumentCategory
from medmitra_desktop.sync.client import MedMitraClient, RetryPolicy, UploadFile
from medmitra_desktop.sync.errors import (
    BadResponse,
    RemoteNotFound,
    ServerBusy,
    ServerRefused,
    ServerUnreachable,
    SignInRequired,
    UntrustedServer,
)
from tests.factories import LAB_LINES, png_image, text_pdf
from tests.sync.reference_server import ReferenceServer

USER = "dr-client"
FIELDS = {"patient_name": "Leela Nair", "patient_age": 58, "patient_gender": "female",
          "case_summary": "Breathless on exertion"}


@pytest.fixture
def sleeps() -> list[float]:
    return []


@pytest.fixture
def client(reference_server: ReferenceServer, sleeps: list[float]) -> Iterator[MedMitraClient]:
    with MedMitraClient(reference_server.base_url, reference_server.token,
                        timeout=httpx.Timeout(2.0, read=0.5),
                        retry=RetryPolicy(attempts=3, base_delay=0.01),
                        sleep=sleeps.append, rng=random.Random(7)) as made:
        yield made


def uploads(tmp_path: Path) -> list[UploadFile]:
    return [UploadFile.of_path("cbc.pdf", DocumentCategory.LAB,
                       text_pdf(tmp_path / "cbc.pdf", LAB_LINES), "application/pdf"),
            UploadFile.of_path("cxr.png", DocumentCategory.RADIOLOGY,
                       png_image(tmp_path / "cxr.png"), "image/png")]


def test_every_endpoint_round_trips(client: MedMitraClient, reference_server: ReferenceServer,
                                    tmp_path: Path) -> None:
    created, files = client.create_case(USER, FIELDS, uploads(tmp_path))
    assert created.fields() == FIELDS and created.status == "processing"
    assert sorted((f.file_name, f.category) for f in files) == [
        ("cbc.pdf", DocumentCategory.LAB), ("cxr.png", DocumentCategory.RADIOLOGY)]

    listed, problems = client.list_cases(USER)
    assert [c.case_id for c in listed] == [created.case_id] and problems == []

    updated = client.update_case(created.case_id, {"patient_age": 59})
    assert updated.patient_age == 59

    extra = UploadFile.of_path("lft.pdf", DocumentCategory.LAB,
                       text_pdf(tmp_path / "lft.pdf", ["ALT 80 U/L 7-56"]), "application/pdf")
    uploaded = client.upload(created.case_id, extra)
    assert {f.file_id for f in client.list_files(created.case_id)} == \
        {f.file_id for f in files} | {uploaded.file_id}

    buffer = io.BytesIO()
    assert client.download(uploaded.file_id, buffer) == (tmp_path / "lft.pdf").stat().st_size
    assert buffer.getvalue() == (tmp_path / "lft.pdf").read_bytes()

    client.delete_file(uploaded.file_id, created.case_id)
    assert uploaded.file_id not in {f.file_id for f in client.list_files(created.case_id)}

    client.analyze(created.case_id)
    reference_server.set_status(created.case_id, "completed")
    detail = client.get_case(created.case_id)
    assert detail.case.status == "completed" and detail.insights
    assert 0.0 <= detail.insights["overall_confidence_score"] <= 1.0

    client.delete_case(created.case_id)
    with pytest.raises(RemoteNotFound):
        client.get_case(created.case_id)


def test_idempotent_calls_are_retried_with_growing_jittered_delays(
        client: MedMitraClient, reference_server: ReferenceServer, sleeps: list[float]) -> None:
    reference_server.faults.add("GET", "/cases/all_cases", "503", times=2)
    assert client.list_cases(USER) == ([], [])
    assert len(sleeps) == 2
    assert 0 <= sleeps[0] <= 0.02 and 0 <= sleeps[1] <= 0.04


def test_retries_give_up_after_the_policy_and_say_it_will_be_tried_again(
        client: MedMitraClient, reference_server: ReferenceServer, sleeps: list[float]) -> None:
    reference_server.faults.add("GET", "/cases/all_cases", "500", times=5)
    with pytest.raises(ServerBusy) as raised:
        client.list_cases(USER)
    assert "injected" in str(raised.value) and "tried again" in str(raised.value)
    assert len(sleeps) == 2  # three tries in all


def test_a_create_is_never_resent_blindly(client: MedMitraClient,
                                          reference_server: ReferenceServer,
                                          tmp_path: Path, sleeps: list[float]) -> None:
    reference_server.faults.add("POST", "/cases/create_case", "drop_after")
    with pytest.raises(ServerUnreachable) as raised:
        client.create_case(USER, FIELDS, uploads(tmp_path))
    assert raised.value.maybe_delivered
    assert sleeps == []
    assert len(reference_server.cases(USER)) == 1


@pytest.mark.parametrize("status_kind", ["500", "503"])
def test_a_create_answered_with_a_server_error_is_not_resent(
        status_kind: str, client: MedMitraClient, reference_server: ReferenceServer,
        tmp_path: Path, sleeps: list[float]) -> None:
    reference_server.faults.add("POST", "/cases/create_case", status_kind)
    with pytest.raises(ServerBusy):
        client.create_case(USER, FIELDS, uploads(tmp_path))
    assert sleeps == []


def test_a_refused_request_is_not_retried_and_carries_the_servers_words(
        client: MedMitraClient, reference_server: ReferenceServer, sleeps: list[float]) -> None:
    with pytest.raises(ServerRefused) as raised:
        client.create_case(USER, {**FIELDS, "patient_gender": "unknown"}, [])
    assert raised.value.status == 400 and "patient_gender" in str(raised.value)
    assert sleeps == []


def test_a_wrong_token_asks_to_sign_in_again(reference_server: ReferenceServer) -> None:
    with MedMitraClient(reference_server.base_url, "not-the-token") as client, \
            pytest.raises(SignInRequired) as raised:
        client.list_cases(USER)
    assert "Sign in again" in str(raised.value)


@pytest.mark.parametrize(("kind", "words"), [("malformed_json", "not valid JSON"),
                                             ("wrong_content_type", "text/html")])
def test_answers_that_are_not_the_api_are_named(
        kind: str, words: str, client: MedMitraClient,
        reference_server: ReferenceServer) -> None:
    reference_server.faults.add("GET", "/cases/all_cases", kind, times=3)
    with pytest.raises(BadResponse) as raised:
        client.list_cases(USER)
    assert words in str(raised.value)


def test_a_timeout_is_reported_as_unreachable_after_retries(
        client: MedMitraClient, reference_server: ReferenceServer, sleeps: list[float]) -> None:
    reference_server.faults.add("GET", "/cases/all_cases", "timeout_after", times=3,
                                seconds=1.0)
    with pytest.raises(ServerUnreachable) as raised:
        client.list_cases(USER)
    assert "did not answer in time" in str(raised.value)
    assert len(sleeps) == 2


def test_a_download_larger_than_the_limit_is_refused(
        client: MedMitraClient, reference_server: ReferenceServer) -> None:
    remote = reference_server.add_case(USER, "A B", 30, "male",
                                       files=[("big.pdf", "lab", b"%PDF-" + b"0" * 5000,
                                               "application/pdf")])
    (file,) = reference_server.files_of(remote["case_id"])
    with pytest.raises(BadResponse, match="larger than"):
        client.download(file["file_id"], io.BytesIO(), limit=1000)


def test_ids_from_the_server_cannot_steer_the_request_path(client: MedMitraClient) -> None:
    with pytest.raises(ValueError):
        client.get_case("../all_cases")
    with pytest.raises(ValueError):
        client.delete_file("a/b", "c")


def test_tls_is_verified_and_an_untrusted_certificate_stops_sync(tmp_path: Path) -> None:
    """A real TLS server with a self-signed certificate on 127.0.0.1: the client refuses
    it with a plain message, and offers no way to skip the check."""
    cert, key = _self_signed(tmp_path)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]

    def serve() -> None:
        try:
            connection, _ = listener.accept()
            with context.wrap_socket(connection, server_side=True):
                pass
        except (OSError, ssl.SSLError):
            pass  # the client hangs up during the handshake: what we expect

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        with MedMitraClient(f"https://127.0.0.1:{port}", "token") as client, \
                pytest.raises(UntrustedServer) as raised:
            client.list_cases(USER)
        assert "certificate could not be verified" in str(raised.value)
    finally:
        listener.close()
        thread.join(timeout=5)
    import inspect

    assert "verify" not in inspect.signature(MedMitraClient).parameters


def _self_signed(folder: Path) -> tuple[Path, Path]:
    from datetime import UTC, datetime, timedelta

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.now(UTC)
    certificate = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
                   .public_key(key.public_key()).serial_number(x509.random_serial_number())
                   .not_valid_before(now - timedelta(days=1))
                   .not_valid_after(now + timedelta(days=1))
                   .sign(key, hashes.SHA256()))
    cert_path, key_path = folder / "cert.pem", folder / "key.pem"
    cert_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                           serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_path, key_path
