"""OAuth2 itself: clients and their authentication, consents, scopes, PKCE, redirect URIs, codes, grants, resources."""
