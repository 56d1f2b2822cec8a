from django.urls import path

from . import views

urlpatterns = [
    path("oauth/authorize/", views.authorize, name="oauth-authorize"),
    path("oauth/callback/", views.callback, name="oauth-callback"),
    path("token/refresh/", views.refresh, name="token-refresh"),
    path("logout/", views.logout, name="logout"),
    path("me/", views.me, name="me"),
    path("users/", views.UserListView.as_view(), name="users"),
    path("users/<int:pk>/role/", views.UserRoleView.as_view(), name="user-role"),
    path("impersonate/", views.ImpersonateView.as_view(), name="impersonate"),
]
