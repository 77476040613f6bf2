"""The scopes this service knows, with what each lets a client do. Add yours here."""

SCOPES: dict[str, str] = {
    "openid": "Sign you in with your account here",
    "profile": "Read your user profile",
    "email": "Read your e-mail address",
    "reports:read": "Read reports",
}

# The scopes of the MCP endpoint (MCP=true; routes/mcp_tools.py), a resource of its own: tokens for
# it are asked for with `resource=ISSUER/mcp`, and carry these scopes only.
MCP_SCOPES: dict[str, str] = {
    "mcp:tools": "Use the tools of this service's MCP server",
}
