"""Websocket routes (the ASGI app wraps them in token-or-session authentication)."""

from django.urls import path

from unmask.analyses.consumers import AnalysisConsumer

websocket_urlpatterns = [
    path("ws/analyses/<uuid:analysis_id>/", AnalysisConsumer.as_asgi()),
]
