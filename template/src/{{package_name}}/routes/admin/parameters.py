"""The path and header parameters the admin API's routes share."""

from typing import Annotated

from fastapi import Header, Path

from ...accounts.users import MAX_USERNAME_LENGTH, USERNAME_PATTERN
from ...oauth.clients import CLIENT_ID_LENGTH, CLIENT_ID_PATTERN

Username = Annotated[str, Path(max_length=MAX_USERNAME_LENGTH, pattern=USERNAME_PATTERN)]
ClientId = Annotated[str, Path(max_length=CLIENT_ID_LENGTH, pattern=CLIENT_ID_PATTERN)]
IfMatch = Annotated[str | None, Header(description="The ETag of what you read and change")]
