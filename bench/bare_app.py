"""The reference: a bare FastAPI `async def` route returning a small dict, served the same way as
the services measured beside it. Nothing a real service would do per request is left to remove, so
its rate is the ceiling for this stack on this machine. A benchmark fixture only."""

from fastapi import FastAPI

app = FastAPI()


@app.get("/")
async def hello() -> dict[str, str]:
    return {"message": "Hello, alice! This is a protected route."}
