"""The scopes this service knows, with what each lets a client do. Add yours here."""

SCOPES: dict[str, str] = {
    "profile": "Read your user profile",
    "reports:read": "Read reports",
}
