"""A software WebAuthn authenticator for the tests: it makes P-256 credentials with attestation
`none` and signs assertions as a platform authenticator would, and can be told to misbehave (another
origin or RP ID, no user verification, a counter of its choosing)."""

import base64
import hashlib
import json
import secrets
from dataclasses import dataclass, field
from typing import Any

import cbor2
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec

from .helpers import ISSUER

RP_ID = "testserver"
USER_PRESENT, USER_VERIFIED, BACKUP_ELIGIBLE, BACKED_UP, ATTESTED = 0x01, 0x04, 0x08, 0x10, 0x40


def b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@dataclass
class Credential:
    credential_id: bytes
    key: ec.EllipticCurvePrivateKey
    user_handle: bytes
    sign_count: int = 0


@dataclass
class SoftwareAuthenticator:
    origin: str = ISSUER
    rp_id: str = RP_ID
    user_verifies: bool = True
    # A synced passkey (backup eligible and backed up): amr `swk` rather than `hwk`.
    synced: bool = False
    # How much each assertion adds to the counter: 0 for an authenticator without one.
    counter_step: int = 1
    credentials: list[Credential] = field(default_factory=list)

    def create(self, options: dict[str, Any]) -> dict[str, Any]:
        """The browser's answer to `navigator.credentials.create()` with OPTIONS (as JSON)."""
        credential = Credential(
            secrets.token_bytes(32), ec.generate_private_key(ec.SECP256R1()), unb64(options["user"]["id"])
        )
        numbers = credential.key.public_key().public_numbers()
        cose_key = cbor2.dumps(
            {1: 2, 3: -7, -1: 1, -2: numbers.x.to_bytes(32, "big"), -3: numbers.y.to_bytes(32, "big")}
        )
        attested = len(credential.credential_id).to_bytes(2, "big") + credential.credential_id + cose_key
        auth_data = self._auth_data(ATTESTED, credential.sign_count) + bytes(16) + attested
        client_data = self._client_data("webauthn.create", options["challenge"])
        self.credentials.append(credential)
        return {
            "id": b64(credential.credential_id),
            "rawId": b64(credential.credential_id),
            "type": "public-key",
            "response": {
                "clientDataJSON": b64(client_data),
                "attestationObject": b64(cbor2.dumps({"fmt": "none", "attStmt": {}, "authData": auth_data})),
                "transports": ["internal"],
            },
            "clientExtensionResults": {},
        }

    def get(self, options: dict[str, Any], *, sign_count: int | None = None) -> dict[str, Any]:
        """The browser's answer to `navigator.credentials.get()` with OPTIONS: the last credential
        made, or the first of those allowed; SIGN_COUNT in place of the counter's next value."""
        allowed = {unb64(descriptor["id"]) for descriptor in options.get("allowCredentials", [])}
        credential = next(c for c in reversed(self.credentials) if not allowed or c.credential_id in allowed)
        credential.sign_count = credential.sign_count + self.counter_step if sign_count is None else sign_count
        return self.assertion(credential, options["challenge"])

    def assertion(self, credential: Credential, challenge: str) -> dict[str, Any]:
        auth_data = self._auth_data(0, credential.sign_count)
        client_data = self._client_data("webauthn.get", challenge)
        signed = auth_data + hashlib.sha256(client_data).digest()
        return {
            "id": b64(credential.credential_id),
            "rawId": b64(credential.credential_id),
            "type": "public-key",
            "response": {
                "clientDataJSON": b64(client_data),
                "authenticatorData": b64(auth_data),
                "signature": b64(credential.key.sign(signed, ec.ECDSA(hashes.SHA256()))),
                "userHandle": b64(credential.user_handle),
            },
            "clientExtensionResults": {},
        }

    def _auth_data(self, flags: int, sign_count: int) -> bytes:
        flags |= USER_PRESENT | (USER_VERIFIED if self.user_verifies else 0)
        flags |= (BACKUP_ELIGIBLE | BACKED_UP) if self.synced else 0
        return hashlib.sha256(self.rp_id.encode()).digest() + bytes([flags]) + sign_count.to_bytes(4, "big")

    def _client_data(self, kind: str, challenge: str) -> bytes:
        return json.dumps({"type": kind, "challenge": challenge, "origin": self.origin, "crossOrigin": False}).encode()
