"""A stand-in upstream provider on 127.0.0.1, over real HTTP: an OpenID provider (metadata, keys, a
token endpoint that checks PKCE and signs ID tokens with PyJWT) and a GitHub-style API (token, user
and e-mail endpoints). The tests play its login page: `approve` issues the code it would redirect with."""

import base64
import hashlib
import json
import secrets
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

CLIENT_ID = "service-at-upstream"
CLIENT_SECRET = "upstream-client-secret"
GITHUB_CLIENT_ID = "github-style-client"
GITHUB_CLIENT_SECRET = "github-client-secret"


@dataclass
class Grant:
    """What the provider's login page decided: who signed in, for which request."""

    request: dict[str, str]
    account: dict[str, Any]
    # Changes to the ID token's claims (a test's forgery), and headers.
    claims: dict[str, Any] = field(default_factory=dict)
    # What UserInfo says instead of ACCOUNT, where a test wants it to differ.
    userinfo: dict[str, Any] | None = None
    used: bool = False


class UpstreamProvider:
    """The running stand-in; `issuer` is its base URL."""

    def __init__(self) -> None:
        self.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.kid = "upstream-key-1"
        self.grants: dict[str, Grant] = {}
        self.token_requests: list[dict[str, str]] = []
        self.metadata_changes: dict[str, Any] = {}
        # What the token endpoint answers instead, when a test sets it: any JSON at all.
        self.token_body: Any = None
        # The GitHub-style API's access tokens, and whose they are.
        self.api_tokens: dict[str, dict[str, Any]] = {}
        self.lock = threading.Lock()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        self.issuer = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> "UpstreamProvider":
        self.thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()

    def providers_setting(self, **changes: Any) -> str:
        """UPSTREAM_PROVIDERS naming this stand-in twice: as an OpenID provider and as GitHub."""
        oidc = {
            "name": "upstream",
            "kind": "oidc",
            "display_name": "Upstream",
            "client_id": CLIENT_ID,
            "client_secret": CLIENT_SECRET,
            "issuer": self.issuer,
            **changes.get("oidc", {}),
        }
        github = {
            "name": "github",
            "kind": "github",
            "display_name": "GitHub",
            "client_id": GITHUB_CLIENT_ID,
            "client_secret": GITHUB_CLIENT_SECRET,
            "authorize_url": f"{self.issuer}/login/oauth/authorize",
            "token_url": f"{self.issuer}/login/oauth/access_token",
            "api_url": f"{self.issuer}/api",
            **changes.get("github", {}),
        }
        return json.dumps([oidc, github])

    def approve(
        self, authorization_url: str, account: dict[str, Any], userinfo: dict[str, Any] | None = None, **claims: Any
    ) -> str:
        """The code the provider's login page would send back for ACCOUNT (its `sub` or GitHub `id`,
        `email`...), asked for by AUTHORIZATION_URL; CLAIMS change the ID token (None leaves one out),
        USERINFO replaces what the UserInfo endpoint says."""
        request = {name: values[0] for name, values in parse_qs(urlsplit(authorization_url).query).items()}
        assert authorization_url.startswith(self.issuer), authorization_url
        assert request["code_challenge_method"] == "S256"
        code = secrets.token_urlsafe(16)
        with self.lock:
            self.grants[code] = Grant(request, account, claims, userinfo)
        return code

    def jwks(self) -> dict[str, Any]:
        public = json.loads(RSAAlgorithm.to_jwk(self.key.public_key()))
        return {"keys": [{**public, "kid": self.kid, "use": "sig", "alg": "RS256"}]}

    def metadata(self) -> dict[str, Any]:
        return {
            "issuer": self.issuer,
            "authorization_endpoint": f"{self.issuer}/authorize",
            "token_endpoint": f"{self.issuer}/token",
            "jwks_uri": f"{self.issuer}/jwks",
            "userinfo_endpoint": f"{self.issuer}/userinfo",
            "response_types_supported": ["code"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "token_endpoint_auth_methods_supported": ["client_secret_basic"],
            "code_challenge_methods_supported": ["S256"],
            "authorization_response_iss_parameter_supported": True,
            **self.metadata_changes,
        }

    def redeem(self, form: dict[str, str], client_id: str) -> tuple[int, dict[str, Any]]:
        """The token endpoint: the code once, for its redirect URI and PKCE verifier."""
        self.token_requests.append(form)
        if self.token_body is not None:
            return 200, self.token_body
        with self.lock:
            grant = self.grants.get(form.get("code", ""))
            if grant is None or grant.used:
                return 400, {"error": "invalid_grant"}
            grant.used = True
        request = grant.request
        verifier = form.get("code_verifier", "")
        challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
        if (
            request["client_id"] != client_id
            or form.get("redirect_uri") != request["redirect_uri"]
            or challenge != request["code_challenge"]
        ):
            return 400, {"error": "invalid_grant"}
        body: dict[str, Any] = {"access_token": secrets.token_urlsafe(16), "token_type": "Bearer", "expires_in": 300}
        if client_id == CLIENT_ID:
            now = int(time.time())
            claims = {
                "iss": self.issuer,
                "aud": CLIENT_ID,
                "iat": now,
                "exp": now + 300,
                "nonce": request.get("nonce"),
                **grant.account,
                **grant.claims,
            }
            claims = {name: value for name, value in claims.items() if value is not None}
            body["id_token"] = jwt.encode(claims, self.key, algorithm="RS256", headers={"kid": self.kid})
        self.api_tokens[body["access_token"]] = grant.account if grant.userinfo is None else grant.userinfo
        return 200, body


def _handler(provider: UpstreamProvider) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *_args: Any) -> None:
            pass

        def _send(self, status: int, body: Any) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self) -> None:
            path = urlsplit(self.path).path
            if path == "/.well-known/openid-configuration":
                return self._send(200, provider.metadata())
            if path == "/jwks":
                return self._send(200, provider.jwks())
            account = provider.api_tokens.get(self.headers.get("Authorization", "").removeprefix("Bearer "))
            if path in ("/api/user", "/api/user/emails", "/userinfo") and account is None:
                return self._send(401, {"message": "Bad credentials"})
            if path == "/userinfo":
                return self._send(200, account)
            if path == "/api/user":
                assert account is not None
                return self._send(200, {key: value for key, value in account.items() if key != "emails"})
            if path == "/api/user/emails":
                assert account is not None
                return self._send(200, account.get("emails", []))
            return self._send(404, {"message": "Not Found"})

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", "0"))
            form = {name: values[0] for name, values in parse_qs(self.rfile.read(length).decode()).items()}
            path = urlsplit(self.path).path
            if path == "/token":
                # client_secret_basic, as the metadata says.
                expected = base64.b64encode(f"{CLIENT_ID}:{CLIENT_SECRET}".encode()).decode()
                if self.headers.get("Authorization") != f"Basic {expected}":
                    return self._send(401, {"error": "invalid_client"})
                return self._send(*provider.redeem(form, CLIENT_ID))
            if path == "/login/oauth/access_token":
                if form.get("client_id") != GITHUB_CLIENT_ID or form.get("client_secret") != GITHUB_CLIENT_SECRET:
                    return self._send(200, {"error": "incorrect_client_credentials"})
                status, body = provider.redeem(form, GITHUB_CLIENT_ID)
                # GitHub answers a bad code with 200 and an error.
                return self._send(200, body if status == 200 else {"error": "bad_verification_code"})
            return self._send(404, {"message": "Not Found"})

    return Handler
