"""Request dependencies: who is calling (bearer token or session cookie), as an Actor."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from fangkong.auth import service
from fangkong.auth.actor import Actor
from fangkong.auth.models import User
from fangkong.auth.sessions import SESSION_COOKIE, SessionCodec
from fangkong.core.audit_models import Channel
from fangkong.core.deps import DbSession, get_runtime


def session_codec(request: Request) -> SessionCodec:
    return SessionCodec(get_runtime(request).keys.signing_seed)


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


def optional_actor(request: Request, db: DbSession) -> Actor | None:
    header = request.headers.get("authorization", "")
    if header.lower().startswith("bearer "):
        token_user, token = service.user_for_token(db, token=header[7:].strip())
        return service.actor_for(
            db, user=token_user, channel=Channel.token, address=client_address(request), token_id=token.id
        )
    user = session_user(request, db)
    if user is None:
        return None
    channel = Channel.api if request.url.path.startswith("/api") else Channel.page
    return service.actor_for(db, user=user, channel=channel, address=client_address(request))


def current_actor(actor: Annotated[Actor | None, Depends(optional_actor)]) -> Actor:
    if actor is None:
        raise service.Unauthenticated("log in, or send an API token as 'Authorization: Bearer …'")
    return actor


CurrentActor = Annotated[Actor, Depends(current_actor)]
