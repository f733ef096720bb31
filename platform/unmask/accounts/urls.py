"""Site pages under /accounts/: Django's auth views (login, logout, password change and reset)
plus sign-up and the profile. Not namespaced: the auth views reverse their own plain names."""

from django.urls import include, path

from unmask.accounts import views

urlpatterns = [
    path("signup/", views.signup, name="signup"),
    path("profile/", views.profile, name="profile"),
    path("tokens/<int:pk>/revoke/", views.revoke, name="revoke_token"),
    path("", include("django.contrib.auth.urls")),
]
