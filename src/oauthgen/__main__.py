"""`python -m oauthgen`: the same command line as the `oauthgen` script."""

from .cli import app

app(prog_name="oauthgen")
