from __future__ import annotations

from django.urls import URLPattern, URLResolver, include, path, re_path

from loginguard.api.v1 import api as api_v1
from loginguard.forwardauth import views as forwardauth
from loginguard.gateway import views as gateway
from loginguard.record import password_links
from loginguard.record import views as record
from loginguard.security import views as security
from loginguard.signin import views as signin
from loginguard.web import mailbox, views

urlpatterns: list[URLPattern | URLResolver] = [
    path("", views.home, name="home"),
    path("about/", views.landing, name="landing"),
    # /healthz is answered by web.middleware.HealthCheckMiddleware, before any of this.
    path("api/v1/", api_v1.urls),
    re_path(r"^api/(?P<rest>.*)$", views.api_not_found),
    # Forward auth for reverse proxies; the common case is answered by
    # forwardauth.middleware.ForwardAuthMiddleware before the rest of the stack.
    path("auth/forward", forwardauth.forward, name="forward_auth"),
    # Single sign-on (SPEC §11): OpenID Connect discovery, /o/authorize, /o/token, ...
    path("", include("loginguard.sso.urls", namespace="oauth2_provider")),
    path("login/", signin.login_view, name="login"),
    path("login/verify/", signin.verify_view, name="login_verify"),
    path("login/verify/resend/", signin.resend_view, name="login_resend"),
    path("login/trust/", signin.trust_view, name="login_trust"),
    path("logout/", signin.logout_view, name="logout"),
    path("password/reset/", password_links.password_reset_request, name="password_reset"),
    path("password/reset/<str:uidb64>/<str:token>/", password_links.password_reset_confirm,
         name="password_reset_confirm"),
    path("invite/<str:uidb64>/<str:token>/", password_links.invitation_accept,
         name="invitation_accept"),
    path("users/<str:user_id>/", record.details_tab, name="user_record"),
    path("users/<str:user_id>/permissions/", record.permissions_tab, name="user_permissions"),
    path("users/<str:user_id>/notifications/", record.notifications_tab,
         name="user_notifications"),
    path("users/<str:user_id>/deactivate/", record.user_deactivate, name="user_deactivate"),
    path("users/<str:user_id>/reactivate/", record.user_reactivate, name="user_reactivate"),
    path("users/<str:user_id>/email/confirm/", record.email_confirm, name="email_confirm"),
    path("users/<str:user_id>/email/cancel/", record.email_cancel, name="email_cancel"),
    path("users/<str:user_id>/email/approve/", record.email_approve, name="email_approve"),
    path("security/unlock/", security.unlock, name="security_unlock"),
    path("security/lock/", security.lock, name="security_lock"),
    path("security/devices/remove-all/", security.devices_remove_all,
         name="devices_remove_all"),
    path("security/devices/<str:device_id>/rename/", security.device_rename,
         name="device_rename"),
    path("security/devices/<str:device_id>/remove/", security.device_remove,
         name="device_remove"),
    path("security/sessions/end-others/", security.sessions_end_others,
         name="sessions_end_others"),
    path("security/sessions/<str:session_id>/end/", security.session_end, name="session_end"),
    path("security/apps/<str:app_id>/disconnect/", security.app_disconnect,
         name="app_disconnect"),
    path("security/password/", security.password_change, name="password_change"),
    path("security/tokens/create/", security.token_create, name="token_create"),
    path("security/tokens/<str:token_id>/revoke/", security.token_revoke,
         name="token_revoke"),
    path("gateway/", gateway.gateway_home, name="gateway"),
    path("gateway/ip-policy/", gateway.gateway_ip_policy, name="gateway_ip_policy"),
    path("gateway/accounts/<str:account_id>/", gateway.gateway_account_page,
         name="gateway_account"),
    path("gateway/accounts/<str:account_id>/rename/", gateway.gateway_account_rename,
         name="gateway_account_rename"),
    path("gateway/accounts/<str:account_id>/suspend/", gateway.gateway_account_suspend,
         name="gateway_account_suspend"),
    path("gateway/accounts/<str:account_id>/resume/", gateway.gateway_account_resume,
         name="gateway_account_resume"),
    path("gateway/accounts/<str:account_id>/connect/", gateway.gateway_connect,
         name="gateway_connect"),
    path("gateway/accounts/<str:account_id>/disconnect/<str:user_id>/",
         gateway.gateway_disconnect, name="gateway_disconnect"),
    path("accounts/<str:account_id>/", gateway.account_admin, name="account_admin"),
    path("accounts/<str:account_id>/invite/", gateway.account_invite, name="account_invite"),
    path("accounts/<str:account_id>/users/<str:user_id>/reset/", gateway.account_send_reset,
         name="account_send_reset"),
    path("accounts/<str:account_id>/ip-policy/", gateway.account_ip_policy,
         name="account_ip_policy"),
    path("accounts/<str:account_id>/apps/", gateway.account_client_create,
         name="account_client_create"),
    path("accounts/<str:account_id>/apps/<str:client_id>/delete/",
         gateway.account_client_delete, name="account_client_delete"),
    path("accounts/<str:account_id>/log/", gateway.account_log, name="account_log"),
    # Demo mode only: both views answer 404 unless DEV_MAILBOX_DIR is set.
    path("dev/mailbox/", mailbox.mailbox_list, name="mailbox"),
    path("dev/mailbox/<str:key>/", mailbox.mailbox_detail, name="mailbox_detail"),
    path("dev/mailbox/<str:key>/html/", mailbox.mailbox_html, name="mailbox_html"),
]

handler500 = "loginguard.web.views.server_error"
