from django.urls import path

from unmask.analyses import views

app_name = "analyses"
urlpatterns = [
    path("", views.history, name="list"),
    path("new/", views.new_analysis, name="new"),
    path("<uuid:pk>/", views.detail, name="detail"),
    path("<uuid:pk>/video", views.video, name="video"),
    path("<uuid:pk>/preview.mp4", views.preview, name="preview"),
    path("<uuid:pk>/export.json", views.export, name="export"),
    path("<uuid:pk>/delete/", views.delete, name="delete"),
    path("<uuid:pk>/report/", views.report, name="report"),
    path("<uuid:pk>/share/", views.share, name="share"),
    path("shared/<str:token>/", views.shared, name="shared"),
    path("shared/<str:token>/video", views.shared_video, name="shared-video"),
    path("shared/<str:token>/preview.mp4", views.shared_preview, name="shared-preview"),
]
