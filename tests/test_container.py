"""A generated service's image: built with podman from its own Dockerfile, run as deployed."""

from __future__ import annotations

import json
import secrets
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat

from oauthgen.lock import write_lock

from .support.containers import build, podman, podman_compose, slim_python_base
from .support.ports import free_port
from .support.services import NO_MAIL_SERVER, PACKAGE, PASSWORD, TEST_TOTP_KEY, answers_ok, eventually

COMPOSED_IMAGE = "my-service"
PLANTED = "planted-secret-" + secrets.token_hex(8)

# One worker runs them all: the module's image is then built once, not once on each worker.
pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("container")]


@pytest.fixture(scope="session")
def image(make_project: Callable[..., Path], tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The default service's image, built from a checkout holding what a developer's would: a .env,
    keys, a database and a virtual environment, none of which may reach the image. Built once for the
    run (the worker of the "container" group): a test of another module run between these would end
    a module's fixture, and the next would build it again."""
    project = Path(shutil.copytree(make_project(), tmp_path_factory.mktemp("image") / "service"))
    assert write_lock(project), "the image installs what uv.lock pins: it needs the package index to write it"
    (project / ".env").write_text(f"SECRET_KEY={PLANTED}\n", encoding="utf-8")
    (project / "var" / "keys").mkdir(parents=True)
    (project / "var" / "keys" / "signing.pem").write_text(PLANTED, encoding="utf-8")
    (project / "var" / f"{PACKAGE}.db").write_text(PLANTED, encoding="utf-8")
    (project / ".venv").mkdir()
    (project / ".venv" / "planted").write_text(PLANTED, encoding="utf-8")
    tag = f"localhost/oauthgen-test-service:{secrets.token_hex(4)}"
    build(project, tag, "--build-arg", f"BASE_IMAGE={slim_python_base()}")
    yield tag
    podman("image", "rm", "--force", tag, check=False)


def test_the_image_runs_as_a_user_of_its_own_with_nothing_local_inside(image: str) -> None:
    user = podman("image", "inspect", "--format", "{{.Config.User}}", image).stdout.strip()
    uid = podman("run", "--rm", image, "id", "-u").stdout.strip()
    # grep exits 1 when it finds nothing, which is the point; `find` must succeed, and prints what it finds.
    search = f"grep -rIl {PLANTED} /app /opt /usr/local /etc /root /tmp; [ $? -eq 1 ] && find / -xdev -name .env"
    planted = podman("run", "--rm", "--user", "root", image, "sh", "-c", search, check=False)  # reads everything

    assert user == "app"
    assert uid not in {"", "0"}
    assert planted.returncode == 0, planted.stdout + planted.stderr
    assert planted.stdout.strip() == ""


def test_the_image_serves_the_seed_flow_and_its_health_checks_pass(image: str) -> None:
    port = free_port()
    volume = f"oauthgen-test-{secrets.token_hex(4)}"
    name = f"oauthgen-test-{secrets.token_hex(4)}"
    id_token_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    id_token_pem = id_token_key.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption()).decode()
    settings = ["-e", f"ISSUER=http://127.0.0.1:{port}", "-e", f"SECRET_KEY={secrets.token_urlsafe(64)}"]
    settings += ["-e", f"SMTP_URL={NO_MAIL_SERVER}", "-e", f"TOTP_ENCRYPTION_KEYS={TEST_TOTP_KEY}"]
    settings += ["-e", f"ID_TOKEN_PRIVATE_KEY={id_token_pem}"]
    run = ["run", "--rm", "--network=host", "--volume", f"{volume}:/app/var", *settings, image]
    podman("volume", "create", volume)
    try:
        assert "up to date" in podman(*run, "python", "-m", PACKAGE, "migrate").stdout
        podman(*run, "python", "-m", PACKAGE, "create-user", "alice", "--password", PASSWORD, "--scope", "profile")
        # Production grants passwords to registered first-party clients only.
        registered = podman(*run, "python", "-m", PACKAGE, "create-client", "App", "--grant-type", "password", "--json")
        credentials = json.loads(registered.stdout)
        podman("run", "--detach", "--name", name, *run[2:5], "-e", f"PORT={port}", *settings, image)
        base_url = f"http://127.0.0.1:{port}"
        _wait_until_ready(base_url, name)

        token = httpx.post(
            f"{base_url}/token",
            data={"grant_type": "password", "username": "alice", "password": PASSWORD},
            auth=(credentials["client_id"], credentials["client_secret"]),
            timeout=30,
        )
        assert token.status_code == 200, token.text
        access_token = token.json()["access_token"]
        protected = httpx.get(f"{base_url}/protected", headers={"Authorization": f"Bearer {access_token}"})
        assert protected.json() == {"message": "Hello, alice! This is a protected route."}
        assert httpx.get(f"{base_url}/docs").status_code == 404, "production serves no API docs"

        assert podman("healthcheck", "run", name, check=False).returncode == 0
        assert podman("exec", name, "python", "-m", PACKAGE, "check-health", "--ready", check=False).returncode == 0
        database = podman("exec", name, "stat", "-c", "%a %U", f"/app/var/{PACKAGE}.db").stdout.split()
        assert database == ["600", "app"]
    finally:
        podman("rm", "--force", name, check=False)
        podman("volume", "rm", "--force", volume, check=False)


def test_compose_publishes_the_service_on_the_host_port_that_port_chooses(
    image: str, make_project: Callable[..., Path], tmp_path: Path
) -> None:
    """PORT in .env.production chooses the host's port only: inside, the service listens where the
    published port and the health check reach it."""
    project = Path(shutil.copytree(make_project(), tmp_path / "service"))
    port = free_port()
    assert port != 8000
    (project / "secrets").mkdir()
    id_token_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    id_token_pem = project / "secrets" / "id_token.pem"
    id_token_pem.write_bytes(id_token_key.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption()))
    id_token_pem.chmod(0o644)  # the service's user in the container reads it
    production = (
        f"ISSUER=http://127.0.0.1:{port}\nSECRET_KEY={secrets.token_urlsafe(64)}\nPORT={port}\nWEB_CONCURRENCY=1\n"
        f"SMTP_URL={NO_MAIL_SERVER}\nTOTP_ENCRYPTION_KEYS={TEST_TOTP_KEY}\n"
    )
    (project / ".env.production").write_text(production, encoding="utf-8")
    # The compose file's image, already built by the fixture: `up` neither builds nor pulls it.
    podman("tag", image, f"localhost/{COMPOSED_IMAGE}:latest")
    name = f"oauthgen-test-{secrets.token_hex(4)}"
    compose = ["--project-name", name, "--env-file", ".env.production"]
    try:
        podman_compose(project, *compose, "up", "-d")
        base_url = f"http://127.0.0.1:{port}"
        labels = [
            "--filter",
            f"label=io.podman.compose.project={name}",
            "--filter",
            "label=com.docker.compose.service=service",
        ]
        [container] = podman("ps", *labels, "--format", "{{.Names}}").stdout.split()
        _wait_until_ready(base_url, container)

        assert httpx.get(f"{base_url}/.well-known/openid-configuration").json()["issuer"] == base_url
        assert podman("healthcheck", "run", container, check=False).returncode == 0
        published = podman("port", container).stdout.split()
        assert published == ["8000/tcp", "->", f"127.0.0.1:{port}"], "only this machine, through a proxy, reaches it"
    finally:
        podman_compose(project, *compose, "down", "--volumes")
        podman("untag", f"localhost/{COMPOSED_IMAGE}:latest", check=False)


def _wait_until_ready(base_url: str, name: str, seconds: float = 60) -> None:
    if not eventually(lambda: answers_ok(f"{base_url}/health/ready"), seconds, interval=0.3):
        logs = podman("logs", name, check=False)
        raise AssertionError(f"the container did not become ready:\n{logs.stdout}\n{logs.stderr}")
