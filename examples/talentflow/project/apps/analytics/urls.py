from django.urls import path

from . import views

urlpatterns = [
    path("summary/", views.summary, name="analytics-summary"),
    path("schedules/", views.schedules, name="analytics-schedules"),
    path("reports/<str:kind>/", views.report, name="report"),
    path("reports/<str:kind>/run/", views.run_report, name="report-run"),
]
