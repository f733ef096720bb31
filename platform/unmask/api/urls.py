"""/api/v1/: one router for analyses, device tokens and reviews; token sign-in beside it."""

from django.urls import include, path
from rest_framework.routers import DefaultRouter

from unmask.accounts.api import DeviceTokenViewSet, TokenView
from unmask.api.views import AnalysisViewSet
from unmask.review.api import ReviewViewSet

router = DefaultRouter()
router.register("analyses", AnalysisViewSet, basename="analysis")
router.register("auth/tokens", DeviceTokenViewSet, basename="device-token")
router.register("reviews", ReviewViewSet, basename="review")

app_name = "api"
urlpatterns = [
    path("auth/token/", TokenView.as_view(), name="token"),
    path("", include(router.urls)),
]
