"""The browser side: server-rendered pages, browser sign-ins with their CSRF tokens, and response headers."""
