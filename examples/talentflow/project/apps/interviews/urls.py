from django.urls import path

from . import views

urlpatterns = [
    path("", views.interviews, name="interviews"),
    path("availability/", views.availability, name="availability"),
    path("slots/", views.slots, name="slots"),
    path("<int:pk>/cancel/", views.cancel, name="interview-cancel"),
]
