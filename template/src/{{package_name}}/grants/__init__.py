"""OAuth2 grants: one module per grant type."""
