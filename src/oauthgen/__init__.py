"""oauthgen: generate and update production-grade OAuth2/JWT FastAPI services."""

from importlib.metadata import version

__version__ = version("oauthgen")
