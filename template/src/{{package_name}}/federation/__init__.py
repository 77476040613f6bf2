"""Signing in with an account at another provider (README, Sign in with another provider): the
providers the operator configured, their OAuth2 clients, and the external identities linked to users."""
