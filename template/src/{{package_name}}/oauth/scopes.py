"""The scopes this service knows, with what each lets a client do. Add yours here."""

SCOPES: dict[str, str] = {
    "openid": "Sign you in with your account here",
    "profile": "Read your user profile",
    "email": "Read your e-mail address",
    "reports:read": "Read reports",
}
