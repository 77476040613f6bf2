"""The tools of the MCP endpoint (MCP=true), and who calls them. Add yours in `build_server`.

A tool runs for the caller whose access token the endpoint verified (`caller()`): a token issued for
the endpoint's resource, `ISSUER/mcp`, and no other. A tool that needs a scope asks for it with
`require_scope`, which ends the call with an error the client shows.
"""

from contextvars import ContextVar

from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from pydantic import BaseModel

from ..tokens.access_tokens import AccessToken

# Set by the endpoint for each request, before the SDK runs the tool.
CALLER: ContextVar[AccessToken] = ContextVar("mcp_caller")


class Identity(BaseModel):
    subject: str
    client_id: str
    scopes: list[str]


def build_server(name: str) -> MCPServer:
    server: MCPServer = MCPServer(name, instructions="Tools of this service, for the user who signed in.")

    @server.tool(description="Who this token is for: its user (subject), its client and its scopes.")
    def whoami() -> Identity:
        access = require_scope("mcp:tools")
        return Identity(subject=access.subject, client_id=access.client_id, scopes=sorted(access.scopes))

    return server


def caller() -> AccessToken:
    return CALLER.get()


def require_scope(scope: str) -> AccessToken:
    """The caller's token, when it grants SCOPE; a tool error otherwise."""
    access = caller()
    if scope not in access.scopes:
        raise ToolError(f"This tool needs the scope {scope}")
    return access
