from __future__ import annotations

from django.urls import URLPattern, URLResolver, path

from loginguard.signin import views as signin
from loginguard.users import views as users
from loginguard.web import mailbox, views

urlpatterns: list[URLPattern | URLResolver] = [
    path("", views.home, name="home"),
    path("about/", views.landing, name="landing"),
    path("healthz", views.healthz, name="healthz"),
    path("login/", signin.login_view, name="login"),
    path("login/verify/", signin.verify_view, name="login_verify"),
    path("login/verify/resend/", signin.resend_view, name="login_resend"),
    path("login/trust/", signin.trust_view, name="login_trust"),
    path("logout/", signin.logout_view, name="logout"),
    path("password/reset/", users.password_reset_request, name="password_reset"),
    path("password/reset/<str:uidb64>/<str:token>/", users.password_reset_confirm,
         name="password_reset_confirm"),
    path("invite/<str:uidb64>/<str:token>/", users.invitation_accept, name="invitation_accept"),
    # Demo mode only: both views answer 404 unless DEV_MAILBOX_DIR is set.
    path("dev/mailbox/", mailbox.mailbox_list, name="mailbox"),
    path("dev/mailbox/<str:key>/", mailbox.mailbox_detail, name="mailbox_detail"),
]
