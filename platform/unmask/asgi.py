"""ASGI entry point: HTTP through Django, websockets through an authenticated router.

The websocket stack checks the Origin of cookie-session connections (our own pages only) and
accepts token connections from any origin, such as the browser extension's; see
unmask.accounts.websocket.
"""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "unmask.settings")
django_asgi_app = get_asgi_application()

from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402

from unmask.accounts.websocket import TokenOrSessionAuthMiddlewareStack  # noqa: E402
from unmask.routing import websocket_urlpatterns  # noqa: E402

application = ProtocolTypeRouter(
    {
        "http": django_asgi_app,
        "websocket": TokenOrSessionAuthMiddlewareStack(URLRouter(websocket_urlpatterns)),
    }
)
