"""django-oauth-toolkit's validator with loginguard's rules (SPEC §11): an opaque ``sub``,
the claims of each scope, the sign-in's ``auth_time``/``amr``/``acr``/``sid``, and no
token for a user who can no longer sign in or whose session has ended."""

from __future__ import annotations

import hashlib
from typing import Any

from oauth2_provider.oauth2_validators import OAuth2Validator

from loginguard.lib import clock
from loginguard.sso import selectors, services
from loginguard.sso.models import Authorization

IDENTITY_CLAIMS = ("sub", "preferred_username", "name", "zoneinfo", "email",
                   "email_verified")
SIGN_IN_CLAIMS = ("auth_time", "sid", "amr", "acr")
ACCOUNT_CLAIMS = ("account", "role", "reseller", "accounts")


class LoginguardValidator(OAuth2Validator):
    oidc_claim_scope = {
        **OAuth2Validator.oidc_claim_scope,
        **dict.fromkeys(("sid", "amr", "acr", "auth_time"), "openid"),
        **dict.fromkeys(ACCOUNT_CLAIMS, "account"),
    }

    # --- claims ------------------------------------------------------------------------

    def get_additional_claims(self, request: Any) -> dict[str, Any]:
        user = request.user
        claims: dict[str, Any] = {
            "preferred_username": user.username, "name": user.full_name or user.username,
            "zoneinfo": user.time_zone, "email": user.email,
            "email_verified": selectors.email_verified(user)}
        if "account" in (request.scopes or ()):
            claims.update(selectors.account_claims(user))
        authorization = getattr(request, "lg_authorization", None)
        if authorization is not None:  # an ID token: how this sign-in was proved
            claims.update(sid=authorization.sid, amr=authorization.amr.split(),
                          acr=authorization.acr)
        return claims

    def get_claim_dict(self, request: Any) -> dict[str, Any]:
        claims = super().get_claim_dict(request)
        claims["sub"] = services.subject_for(request.user)
        return claims

    def get_discovery_claims(self, request: Any) -> list[str]:
        return [*IDENTITY_CLAIMS, *SIGN_IN_CLAIMS, *ACCOUNT_CLAIMS]

    def get_id_token_dictionary(self, token: Any, token_handler: Any,
                                request: Any) -> tuple[dict[str, Any], Any]:
        claims, expiration = super().get_id_token_dictionary(token, token_handler, request)
        authorization = getattr(request, "lg_authorization", None)
        if authorization is not None:  # the sign-in's time, not Django's last_login
            claims["auth_time"] = int(authorization.auth_time.timestamp())
        return claims, expiration

    # --- prompt=none: the authorize view decides before the toolkit runs -----------------

    def validate_silent_login(self, request: Any) -> bool:
        return True

    def validate_silent_authorization(self, request: Any) -> bool:
        return True

    # --- tokens ------------------------------------------------------------------------

    def validate_bearer_token(self, token: Any, scopes: Any, request: Any) -> bool:
        if not super().validate_bearer_token(token, scopes, request):
            return False
        return selectors.user_may_sign_in(request.user)

    def validate_code(self, client_id: Any, code: Any, client: Any, request: Any,
                      *args: Any, **kwargs: Any) -> bool:
        row = Authorization.objects.filter(code_checksum=services.checksum(code),
                                           application=client).first()
        if not super().validate_code(client_id, code, client, request, *args, **kwargs):
            if row is not None and row.family is not None:
                # A code used twice (RFC 6749 §4.1.2): what the first use got is revoked.
                services.authorizations_end(Authorization.objects.filter(pk=row.pk))
            return False
        if row is None or row.ended_at is not None:
            return False  # not issued through loginguard's sign-in, or its session ended
        if not selectors.user_may_sign_in(request.user):
            return False
        request.lg_authorization = row
        return True

    def validate_refresh_token(self, refresh_token: Any, client: Any, request: Any,
                               *args: Any, **kwargs: Any) -> bool:
        if not super().validate_refresh_token(refresh_token, client, request, *args, **kwargs):
            return False
        family = request.refresh_token_instance.token_family
        row = Authorization.objects.filter(family=family).first()
        if row is None or row.ended_at is not None or not selectors.user_may_sign_in(
                request.user):
            return False
        request.lg_authorization = row
        return True

    def save_bearer_token(self, token: Any, request: Any, *args: Any, **kwargs: Any) -> Any:
        result = super().save_bearer_token(token, request, *args, **kwargs)
        authorization = getattr(request, "lg_authorization", None)
        if authorization is None:
            return result
        updates: dict[str, Any] = {"last_used_at": clock.now()}
        if authorization.family is None and token.get("refresh_token"):
            updates["family"] = self._family(token["refresh_token"])
        live = Authorization.objects.filter(pk=authorization.pk, ended_at__isnull=True)
        if not live.update(**updates) and updates.get("family"):
            # The session ended while these tokens were being made: they die at once.
            services.RefreshToken.revoke_family(updates["family"])
        return result

    @staticmethod
    def _family(refresh_token: str) -> Any:
        digest = hashlib.sha256(refresh_token.encode()).hexdigest()
        return (services.RefreshToken.objects.filter(token_checksum=digest)
                .values_list("token_family", flat=True).first())
