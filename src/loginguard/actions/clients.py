"""Writes to the apps that sign in with loginguard (SPEC §11): registering one (the
operator's CLI; a client admin for their account) and removing it."""

from __future__ import annotations

import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import urlsplit

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from oauth2_provider.models import get_application_model

from loginguard.audit.events import EventType
from loginguard.audit.services import audit_log
from loginguard.lib import clock
from loginguard.sso.models import Client
from loginguard.sso.uris import BACKCHANNEL, REDIRECT, uri_checked
from loginguard.tenancy.models import ClientAccount
from loginguard.users.models import User

Application = get_application_model()


@dataclass(frozen=True)
class Registered:
    client: Client
    client_id: str
    secret: str | None  # shown once; only its hash is stored


def client_create(*, name: object, redirect_uris: Iterable[object], public: bool,
                  backchannel_logout_uri: object = "", account: ClientAccount | None = None,
                  actor: User | None = None, allow_private: bool = False) -> Registered:
    """Register an app. Its secret (confidential clients) is returned once and stored
    hashed by the toolkit; ID tokens are RS256. ``allow_private``: the operator's
    explicit flag for apps on private, loopback or link-local addresses (sso.uris); pages
    never set it."""
    name = name.strip() if isinstance(name, str) else ""
    uris = [uri_checked(uri, REDIRECT, allow_private=allow_private) for uri in redirect_uris]
    backchannel = (uri_checked(backchannel_logout_uri, BACKCHANNEL, allow_private=allow_private)
                   if backchannel_logout_uri else "")
    if not name or len(name) > 100:
        raise ValidationError("Give the app a name of 1 to 100 characters.")
    if not uris:
        raise ValidationError("Give at least one redirect URI.")
    if not settings.OAUTH2_PROVIDER.get("OIDC_RSA_PRIVATE_KEY"):
        raise ValidationError("Set OIDC_PRIVATE_KEY_FILE first: apps get ID tokens signed "
                              "with that key (docs/sso.md, 'The signing key').")
    secret = None if public else secrets.token_urlsafe(48)
    with transaction.atomic():
        application = Application(
            name=name, redirect_uris=" ".join(uris),
            # After an RP-initiated logout the browser may go back to a redirect URI or
            # to the home page of its origin.
            post_logout_redirect_uris=" ".join(dict.fromkeys(
                [*uris, *(_origin(uri) + "/" for uri in uris)])),
            client_type=Application.CLIENT_PUBLIC if public else Application.CLIENT_CONFIDENTIAL,
            authorization_grant_type=Application.GRANT_AUTHORIZATION_CODE,
            algorithm=Application.RS256_ALGORITHM,
            skip_authorization=account is None, hash_client_secret=True,
            client_secret=secret or "")
        application.full_clean(exclude=["client_secret", "user"])
        application.save()
        client = Client.objects.create(application=application, account=account,
                                       backchannel_logout_uri=backchannel,
                                       allow_private_addresses=allow_private,
                                       created_at=clock.now())
        audit_log(event_type=EventType.SSO_CLIENT_CREATED, actor=actor, account=account,
                  extra={"client_id": application.client_id, "app": name,
                      "redirect_uris": uris, "public": public,
                      **({"private_addresses": True} if allow_private else {})})
    return Registered(client=client, client_id=application.client_id, secret=secret)


def _origin(uri: str) -> str:
    parts = urlsplit(uri)
    return f"{parts.scheme}://{parts.netloc}"


def client_delete(*, client: Client, actor: User | None = None) -> None:
    """Remove an app: its tokens die with it (the toolkit cascades)."""
    with transaction.atomic():
        audit_log(event_type=EventType.SSO_CLIENT_DELETED, actor=actor, account=client.account,
                  extra={"client_id": client.application.client_id,
                      "app": client.application.name})
        client.application.delete()
