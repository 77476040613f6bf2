"""Tokens and the keys that sign them: access tokens, ID tokens, refresh tokens, and their revocation."""
