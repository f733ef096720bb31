"""Websocket authentication: the site's session cookie, or `?token=<key>` for the extension.

Browsers send cookies with any websocket handshake, so a cookie-session connection must come
from one of our own pages: its Origin is checked against ALLOWED_HOSTS (the websocket form
of CSRF protection). A token in the URL is no ambient credential — a page can only send one
it already holds — so token connections are accepted from any origin, which is what lets the
browser extension (origin `chrome-extension://…`) watch its analyses. When a token is present
the session is never consulted: a bad token means an anonymous connection, not a fallback to
the cookie.
"""

from urllib.parse import parse_qs

from channels.auth import AuthMiddlewareStack
from channels.db import database_sync_to_async
from channels.middleware import BaseMiddleware
from channels.security.websocket import AllowedHostsOriginValidator
from django.contrib.auth.models import AnonymousUser

from unmask.accounts.authentication import authenticate_key

TOKEN_PARAM = "token"


def query_token(scope) -> str | None:
    """The `token` query parameter of a connection, or None when it has none."""
    query = parse_qs(scope.get("query_string", b"").decode("latin1"))
    values = query.get(TOKEN_PARAM)
    return values[0] if values else None


class TokenAuthMiddleware(BaseMiddleware):
    """Sets scope["user"] (and scope["device_token"]) from the `?token=` key."""

    async def __call__(self, scope, receive, send):
        scope = dict(scope)
        device_token = await database_sync_to_async(authenticate_key)(query_token(scope) or "")
        scope["device_token"] = device_token
        # authenticate_key loaded the user with the token: no database access in the loop.
        scope["user"] = device_token.user if device_token else AnonymousUser()
        return await self.inner(scope, receive, send)


class TokenOrSessionAuthMiddlewareStack:
    """Routes each connection to token authentication or to origin-checked session auth."""

    def __init__(self, inner):
        self.by_token = TokenAuthMiddleware(inner)
        self.by_session = AllowedHostsOriginValidator(AuthMiddlewareStack(inner))

    async def __call__(self, scope, receive, send):
        if query_token(scope) is not None:
            return await self.by_token(scope, receive, send)
        return await self.by_session(scope, receive, send)
