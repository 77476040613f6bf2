"""What the application holds for its lifetime, typed: the routes and dependencies read it from here."""

from dataclasses import dataclass

from fastapi import FastAPI

from .config import Settings
from .issuer.keys import IssuerKeys
from .tokens.access_tokens import TokenVerifier


@dataclass
class AppState:
    settings: Settings
    keys: IssuerKeys
    verifier: TokenVerifier


def app_state(app: FastAPI) -> AppState:
    state: AppState = app.state.app_state
    return state
