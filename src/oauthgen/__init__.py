"""oauthgen: generate and update production-grade OAuth2/JWT FastAPI services."""


def __getattr__(name: str) -> str:
    # Read on first use: importing importlib.metadata would slow down every `oauthgen --help`.
    if name == "__version__":
        from importlib.metadata import version

        return version("oauthgen")
    raise AttributeError(name)
