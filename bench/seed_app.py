"""The baseline: the seed tutorial's resource server as its text writes it (python-jose, HS256,
OAuth2PasswordBearer, get_current_user, /protected), plus its `/` route. A benchmark fixture only.

The text raises `credentials_exception` without defining it; it is defined here (as FastAPI's
docs do) so that the fixture runs. Nothing else is changed.
"""

import os

from fastapi import Depends, FastAPI, HTTPException, status
from fastapi.security import OAuth2PasswordBearer
from jose import JWTError, jwt
from pydantic import BaseModel

SECRET_KEY = os.getenv("SECRET_KEY")
ALGORITHM = "HS256"
ACCESS_TOKEN_EXPIRE_MINUTES = 30

oauth2_scheme = OAuth2PasswordBearer(tokenUrl="token")

credentials_exception = HTTPException(
    status_code=status.HTTP_401_UNAUTHORIZED,
    detail="Could not validate credentials",
    headers={"WWW-Authenticate": "Bearer"},
)


class TokenData(BaseModel):
    username: str | None = None


async def get_current_user(token: str = Depends(oauth2_scheme)):  # type: ignore[no-untyped-def]
    try:
        payload = jwt.decode(token, SECRET_KEY, algorithms=[ALGORITHM])
        username: str = payload.get("sub")
        if username is None:
            raise credentials_exception
        token_data = TokenData(username=username)
    except JWTError:
        raise credentials_exception  # noqa: B904
    return token_data


app = FastAPI()


@app.get("/")
def read_root():  # type: ignore[no-untyped-def]
    return {"Hello": "World"}


@app.get("/protected")
async def protected_route(current_user: TokenData = Depends(get_current_user)):  # type: ignore[no-untyped-def]  # noqa: B008
    return {"message": f"Hello, {current_user.username}! This is a protected route."}
