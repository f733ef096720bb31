from django.urls import path

from unmask.review import views

app_name = "review"
urlpatterns = [
    path("", views.queue, name="queue"),
    path("<uuid:pk>/", views.review, name="review"),
    path("<uuid:pk>/video", views.video, name="video"),
]
