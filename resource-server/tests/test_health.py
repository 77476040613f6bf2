"""Liveness and readiness, and what the health routes say about the issuer's keys."""

from fastapi.testclient import TestClient


def test_ready_reports_the_keys_and_their_age(client: TestClient) -> None:
    live = client.get("/health/live")
    ready = client.get("/health/ready")

    assert live.json() == {"status": "ok"}
    assert ready.status_code == 200
    assert ready.json() == {"status": "ok", "issuer_keys": "ok", "issuer_keys_age_seconds": 0}
    assert client.get("/health").json() == ready.json()
