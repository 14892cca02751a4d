"""django-oauth-toolkit's validator with loginguard's rules (SPEC §11): an opaque ``sub``,
the claims of each scope, the sign-in's ``auth_time``/``amr``/``acr``/``sid``, and no
token for a user who can no longer sign in or whose session has ended.

The code exchange and userinfo are hot paths (bench/sso.py): the toolkit asks for the same
authorization code up to six times per exchange, so it is read once per request (with its
user, tenant and subject) and answered from that; the first token pair is saved without
the toolkit's re-reading of that code and of the ID token it has just signed
(``save_bearer_token``); userinfo is one statement (``selectors.userinfo_row``). Everything
else is the toolkit's."""

from __future__ import annotations

import hashlib
import uuid
from datetime import timedelta
from typing import Any

from django.db import router, transaction
from oauth2_provider.models import (
    Grant,
    get_access_token_model,
    get_id_token_model,
    get_refresh_token_model,
    set_token_value,
)
from oauth2_provider.oauth2_validators import OAuth2Validator
from oauth2_provider.settings import oauth2_settings
from oauthlib.oauth2.rfc6749.errors import InvalidGrantError
from oauthlib.oauth2.rfc6749.utils import scope_to_list

from loginguard.access.rules import may_sign_in
from loginguard.lib import clock
from loginguard.sso import selectors, services
from loginguard.sso.models import Authorization

IDENTITY_CLAIMS = ("sub", "preferred_username", "name", "zoneinfo", "email",
                   "email_verified")
SIGN_IN_CLAIMS = ("auth_time", "sid", "amr", "acr")
ACCOUNT_CLAIMS = ("account", "role", "reseller", "accounts")
AccessToken = get_access_token_model()
RefreshToken = get_refresh_token_model()
IDToken = get_id_token_model()


class LoginguardValidator(OAuth2Validator):
    oidc_claim_scope = {
        **OAuth2Validator.oidc_claim_scope,
        **dict.fromkeys(("sid", "amr", "acr", "auth_time"), "openid"),
        **dict.fromkeys(ACCOUNT_CLAIMS, "account"),
    }

    # --- claims ------------------------------------------------------------------------

    def get_additional_claims(self, request: Any) -> dict[str, Any]:
        user = request.user
        authorization = getattr(request, "lg_authorization", None)
        claims: dict[str, Any] = {
            "preferred_username": user.username, "name": user.full_name or user.username,
            "zoneinfo": user.time_zone, "email": user.email,
            "email_verified": _verified(authorization, user.email)
            if authorization is not None else selectors.email_verified(user)}
        if "account" in (request.scopes or ()):
            client = getattr(request, "client", None)
            claims.update(selectors.account_claims(user, getattr(client, "pk", None)))
        if authorization is not None:  # an ID token: how this sign-in was proved
            claims.update(sid=authorization.sid, amr=authorization.amr.split(),
                          acr=authorization.acr)
        return claims

    def get_claim_dict(self, request: Any) -> dict[str, Any]:
        claims = super().get_claim_dict(request)
        claims["sub"] = getattr(request, "lg_sub", None) or services.subject_for(request.user)
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

    # --- userinfo: one statement -------------------------------------------------------

    def validate_bearer_token(self, token: Any, scopes: Any, request: Any) -> bool:
        if not isinstance(token, str) or not token:
            return False
        row = selectors.userinfo_row(hashlib.sha256(token.encode()).hexdigest())
        if row is None or row.expires <= clock.now() or not set(scopes) <= set(row.scopes):
            return False
        if not row.may_sign_in:
            return False
        request.lg_userinfo = row
        request.user = row  # oauthlib only passes it along
        request.scopes = list(scopes)
        return True

    def get_userinfo_claims(self, request: Any) -> dict[str, Any]:
        row = getattr(request, "lg_userinfo", None)
        if row is None:  # not through validate_bearer_token above
            return dict(super().get_userinfo_claims(request))
        claims = row.claims()
        return {name: value for name, value in claims.items()
                if self.oidc_claim_scope.get(name) in row.scopes}

    # --- the code exchange: the code read once -----------------------------------------

    def _grant(self, code: str, request: Any) -> Grant | None:
        cache = request.__dict__.setdefault("lg_grants", {})
        if code not in cache:
            cache[code] = selectors.grant_by_code(code) if isinstance(code, str) else None
        grant: Grant | None = cache[code]
        client = getattr(request, "client", None)
        if grant is not None and client is not None and grant.application_id != client.pk:
            return None  # another client's code
        return grant

    def get_authorization_code_scopes(self, client_id: Any, code: Any, redirect_uri: Any,
                                      request: Any) -> list[str]:
        grant = self._grant(code, request)
        return scope_to_list(grant.scope) if grant is not None and grant.scope else []

    def get_authorization_code_nonce(self, client_id: Any, code: Any, redirect_uri: Any,
                                     request: Any) -> str | None:
        grant = self._grant(code, request)
        return grant.nonce or None if grant is not None else None

    def get_code_challenge(self, code: Any, request: Any) -> str | None:
        grant = self._grant(code, request)
        return grant.code_challenge or None if grant is not None else None

    def get_code_challenge_method(self, code: Any, request: Any) -> str | None:
        grant = self._grant(code, request)
        return grant.code_challenge_method or None if grant is not None else None

    def confirm_redirect_uri(self, client_id: Any, code: Any, redirect_uri: Any, client: Any,
                             request: Any = None, *args: Any, **kwargs: Any) -> bool:
        grant = self._grant(code, request) if request is not None else None
        if grant is None or not grant.redirect_uri_allowed(redirect_uri):
            # RFC 6749 §5.2: a redirect URI that does not match the code's is invalid_grant
            # (oauthlib's own answer would be invalid_request, which strict clients reject).
            raise InvalidGrantError(description="The redirect_uri is not the one this code "
                                                "was issued for.", request=request)
        return True

    def validate_code(self, client_id: Any, code: Any, client: Any, request: Any,
                      *args: Any, **kwargs: Any) -> bool:
        grant = self._grant(code, request)
        if grant is None or grant.application_id != client.pk or grant.is_expired():
            self._replayed(code, client)
            return False
        row = grant.lg_authorization
        if row is None or row.ended_at is not None:
            return False  # not issued through loginguard's sign-in, or its session ended
        if not may_sign_in(grant.user):
            return False
        if not Authorization.objects.filter(pk=row.pk, exchanged_at__isnull=True).update(
                exchanged_at=clock.now()):
            self._replayed(code, client)  # another exchange of this code won
            return False
        # What the toolkit's own validate_code sets.
        request.scopes = grant.scope.split(" ")
        request.user = grant.user
        if grant.nonce:
            request.nonce = grant.nonce
        request.lg_authorization = row
        request.lg_sub = grant.lg_sub
        return True

    @staticmethod
    def _replayed(code: str, client: Any) -> None:
        """A code used twice (RFC 6749 §4.1.2): what its first use got is revoked."""
        row = Authorization.objects.filter(code_checksum=services.checksum(code),
                                           application=client).first()
        if row is not None and row.family is not None:
            services.authorizations_end(Authorization.objects.filter(pk=row.pk))

    # --- refresh -----------------------------------------------------------------------

    def validate_refresh_token(self, refresh_token: Any, client: Any, request: Any,
                               *args: Any, **kwargs: Any) -> bool:
        if not super().validate_refresh_token(refresh_token, client, request, *args, **kwargs):
            return False
        family = request.refresh_token_instance.token_family
        row = Authorization.objects.filter(family=family).first()
        if row is None or row.ended_at is not None or not may_sign_in(
                request.user):
            return False
        request.lg_authorization = row
        return True

    def save_bearer_token(self, token: Any, request: Any, *args: Any, **kwargs: Any) -> Any:
        family = None
        if self._first_pair(token, request):
            with transaction.atomic(using=router.db_for_write(AccessToken)):
                family = self._save_first_pair(token, request)
            result = None
        else:
            result = super().save_bearer_token(token, request, *args, **kwargs)
        authorization = getattr(request, "lg_authorization", None)
        if authorization is None:
            return result
        updates: dict[str, Any] = {"last_used_at": clock.now()}
        if authorization.family is None and token.get("refresh_token"):
            if family is None:
                digest = hashlib.sha256(token["refresh_token"].encode()).hexdigest()
                family = (RefreshToken.objects.filter(token_checksum=digest)
                          .values_list("token_family", flat=True).first())
            updates["family"] = family
        else:
            family = None  # not this save's to revoke
        live = Authorization.objects.filter(pk=authorization.pk, ended_at__isnull=True)
        if not live.update(**updates) and family is not None:
            # The session ended while these tokens were being made: they die at once.
            RefreshToken.revoke_family(family)
        return result

    def _first_pair(self, token: Any, request: Any) -> bool:
        """A code exchange through loginguard's sign-in with an ID token and a refresh
        token, and no RFC 8707 resource anywhere: the common case, saved by
        ``_save_first_pair``. Anything else is the toolkit's own save."""
        if request.grant_type != "authorization_code" or "scope" not in token:
            return False
        if not token.get("refresh_token") or getattr(request, "lg_authorization", None) is None:
            return False
        grant = self._grant(request.code, request)
        return (grant is not None and not grant.resource and not getattr(request, "resource", None)
                and isinstance(getattr(request, "id_token", None), IDToken))

    def _save_first_pair(self, token: Any, request: Any) -> uuid.UUID:
        """The rows the toolkit's save writes for a first pair (an access token linked to
        the ID token and a refresh token starting a family), without what it does on the
        way: reading the code again for RFC 8707 resources, and parsing and verifying the
        ID token it has just signed to find its row (``finalize_id_token`` left that row on
        the request). Returns the new family."""
        expires = clock.now() + timedelta(seconds=token.get(
            "expires_in", oauth2_settings.ACCESS_TOKEN_EXPIRE_SECONDS))
        access = AccessToken(user=request.user, scope=token["scope"], expires=expires,
                             id_token=request.id_token, application=request.client,
                             resource=[])
        set_token_value(access, token["access_token"])
        access.save()
        family = uuid.uuid4()
        refresh = RefreshToken(user=request.user, application=request.client,
                               access_token=access, token_family=family, resource=[])
        set_token_value(refresh, token["refresh_token"])
        refresh.save()
        return family


def _verified(authorization: Authorization, email: str) -> bool:
    """The address was confirmed when the app was authorized, and is still the user's."""
    return authorization.email_verified and authorization.email == email

