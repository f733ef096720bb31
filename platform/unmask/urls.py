"""Site routes: pages, accounts, staff review, the API and its documentation, admin."""

from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from unmask.analyses import views as analyses_views

urlpatterns = [
    path("", analyses_views.home, name="home"),
    path("model/", analyses_views.model_card, name="model-card"),
    path("analyses/", include("unmask.analyses.urls")),
    path("accounts/", include("unmask.accounts.urls")),
    path("review/", include("unmask.review.urls")),
    path("api/v1/", include("unmask.api.urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="api-docs"),
    path("admin/", admin.site.urls),
]
