"""Request dependencies: who is calling (bearer token or session cookie), as an Actor."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from fangkong.auth import service
from fangkong.auth.actor import Actor
from fangkong.auth.audit_models import Channel
from fangkong.auth.models import User
from fangkong.auth.sessions import SESSION_COOKIE, DeviceCodec, SessionCodec
from fangkong.core.deps import DbSession, get_runtime


def session_codec(request: Request) -> SessionCodec:
    return SessionCodec(get_runtime(request).keys.signing_seed)


def device_codec(request: Request) -> DeviceCodec:
    return DeviceCodec(get_runtime(request).keys.signing_seed)


def client_address(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def session_user(request: Request, db: DbSession) -> User | None:
    data = session_codec(request).read(request.cookies.get(SESSION_COOKIE))
    if data is None:
        return None
    user = db.get(User, data.user_id)
    if user is None or not user.is_active or user.session_epoch != data.epoch:
        return None
    return user


# Declared so that OpenAPI (and the Authorize button of /api/docs) knows about bearer tokens.
bearer_scheme = HTTPBearer(auto_error=False, description="an API token from `fangkong token create` or /tokens")


def optional_actor(
    request: Request,
    db: DbSession,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer_scheme)] = None,
) -> Actor | None:
    if credentials is not None:
        token_user, token = service.user_for_token(db, token=credentials.credentials.strip())
        return service.actor_for(
            db, user=token_user, channel=Channel.token, address=client_address(request), token_id=token.id
        )
    user = session_user(request, db)
    if user is None:
        return None
    channel = Channel.api if request.url.path.startswith("/api") else Channel.page
    return service.actor_for(db, user=user, channel=channel, address=client_address(request))


async def current_actor(actor: Annotated[Actor | None, Depends(optional_actor)]) -> Actor:
    # async: no I/O here, and FastAPI would run a plain function on the thread pool, one more step per request.
    if actor is None:
        raise service.Unauthenticated("log in, or send an API token as 'Authorization: Bearer …'")
    return actor


CurrentActor = Annotated[Actor, Depends(current_actor)]
