"""The provider's URLs, under the toolkit's namespace (its views reverse their siblings
by these names). Only what SPEC §11 promises and RFC 7662 introspection: no
application-management pages, no device flow."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.urls import URLPattern, path, re_path
from oauth2_provider import views as toolkit

from loginguard.sso import introspection, views


def no_nul(view: Callable[..., HttpResponse], *, page: bool = False) -> Callable[..., HttpResponse]:
    """A NUL in any parameter or header is malformed input: 400 before the toolkit sends
    it to the database (PostgreSQL text cannot hold one; found by tests/web/test_fuzz.py)."""
    @wraps(view)
    def guarded(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        values = [*request.GET.lists(), *request.POST.lists()]
        if any("\x00" in key or any("\x00" in v for v in vs) for key, vs in values) or \
                "\x00" in request.headers.get("Authorization", ""):
            if page:
                return render(request, "400.html", status=400)
            return JsonResponse({"error": "invalid_request",
                                 "error_description": "A parameter holds a NUL byte."},
                                status=400)
        return view(request, *args, **kwargs)
    return guarded


app_name = "oauth2_provider"

urlpatterns: list[URLPattern] = [
    re_path(r"^\.well-known/openid-configuration/?$", views.DiscoveryView.as_view(),
            name="oidc-connect-discovery-info"),
    path("o/authorize/", no_nul(views.AuthorizeView.as_view(), page=True), name="authorize"),
    path("o/token/", no_nul(views.TokenEndpointView.as_view()), name="token"),
    path("o/revoke_token/", no_nul(toolkit.RevokeTokenView.as_view()), name="revoke-token"),
    path("o/userinfo/", no_nul(views.BearerOnlyUserInfoView.as_view()), name="user-info"),
    path("o/introspect/", no_nul(introspection.introspect), name="introspect"),
    path("o/logout/", no_nul(views.LogoutView.as_view(), page=True),
         name="rp-initiated-logout"),
    path("o/.well-known/jwks.json", views.JwksView.as_view(), name="jwks-info"),
]
