"""The scopes this service knows, with what each lets a client do. Add yours here."""

SCOPES: dict[str, str] = {
    "openid": "Sign you in with your account here",
    "profile": "Read your user profile",
    "email": "Read your e-mail address",
    "reports:read": "Read reports",
}

# The operator's scope: the admin API (routes/admin/) answers only tokens that carry it. It is the own
# API's like those above, but kept apart so that no default holds it: a user has it only when given it
# (`create-user --scope admin`), a client only when an operator allows it (`create-client`, the admin
# API; a client that registers itself never can), and a token carries it only when a request names it.
ADMIN_SCOPE = "admin"
ADMIN_SCOPES: dict[str, str] = {
    ADMIN_SCOPE: "Manage this service's users, clients and keys",
}

# The scopes of the MCP endpoint (MCP=true; routes/mcp_tools.py), a resource of its own: tokens for
# it are asked for with `resource=ISSUER/mcp`, and carry these scopes only.
MCP_SCOPES: dict[str, str] = {
    "mcp:tools": "Use the tools of this service's MCP server",
}


def describe(scope: str) -> str:
    """What SCOPE lets a client do, for the pages that ask for or list approvals; the scope itself when
    a registered resource declared it (this service cannot say what it means there)."""
    return SCOPES.get(scope) or ADMIN_SCOPES.get(scope) or MCP_SCOPES.get(scope) or scope
