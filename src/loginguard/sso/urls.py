"""The provider's URLs, under the toolkit's namespace (its views reverse their siblings
by these names). Only what SPEC §11 promises: no application-management pages, no
introspection, no device flow."""

from __future__ import annotations

from django.urls import URLPattern, path, re_path
from oauth2_provider import views as toolkit

from loginguard.sso import views

app_name = "oauth2_provider"

urlpatterns: list[URLPattern] = [
    re_path(r"^\.well-known/openid-configuration/?$", views.DiscoveryView.as_view(),
            name="oidc-connect-discovery-info"),
    path("o/authorize/", views.AuthorizeView.as_view(), name="authorize"),
    path("o/token/", toolkit.TokenView.as_view(), name="token"),
    path("o/revoke_token/", toolkit.RevokeTokenView.as_view(), name="revoke-token"),
    path("o/userinfo/", toolkit.UserInfoView.as_view(), name="user-info"),
    path("o/logout/", views.LogoutView.as_view(), name="rp-initiated-logout"),
    path("o/.well-known/jwks.json", toolkit.JwksInfoView.as_view(), name="jwks-info"),
]
