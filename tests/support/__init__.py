"""What the root tests share, one kind of helper per module: git, ports, services, servers, containers,
browsers, and oauthgen itself. Test modules import from here, never from one another or from conftest."""

from __future__ import annotations

from pathlib import Path

REPO = Path(__file__).resolve().parents[2]  # the checkout under test
