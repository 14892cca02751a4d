"""Does every security rule have a test that fails when the rule is removed?

    .venv/bin/python scripts/rule_mutants.py            # all rules (~55 min on 2 cores)
    .venv/bin/python scripts/rule_mutants.py -k code    # rules whose label contains "code"
    .venv/bin/python scripts/rule_mutants.py --check    # is every entry still found? (make test)

For each rule below, a copy of src/ and tests/ gets one small change that breaks the rule
(a limit moved, a check dropped), and the test suite runs against the copy; it must fail.
Your checkout is never modified. The browser, page-fuzz and schemathesis tests are left out
to keep each run near a minute; the rules here are all checked by the others. A rule whose
code text is no longer found is reported too: update its entry when the code moves.
Exits non-zero when a change survived or was not found.

Not listed: changes that other guards make harmless on purpose (defence in depth), e.g.
csrf_protect on views that CsrfViewMiddleware already covers.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# (rule, file under src/loginguard/, text, replacement)
RULES: list[tuple[str, str, str, str]] = [
    # §2.1 codes
    ("§2.1 a code lives 10 minutes", "codes/services.py",
     "CODE_LIFETIME = timedelta(minutes=10)", "CODE_LIFETIME = timedelta(minutes=11)"),
    ("§2.1 an expired code is refused", "codes/services.py",
     "    if clock.now() > live.expires_at:\n        return Verdict.EXPIRED",
     "    if False:\n        return Verdict.EXPIRED"),
    ("§2.1 5 wrong tries kill a code", "codes/services.py",
     "MAX_TRIES_PER_CODE = 5", "MAX_TRIES_PER_CODE = 6"),
    ("§2.1 a try is taken on the code before it is compared", "codes/services.py",
     "    if not took_try:\n        return Verdict.USED_UP", "    if False:\n        pass"),
    ("§2.1 only the exact code is accepted", "codes/services.py",
     "if not hmac.compare_digest(expected, given):", "if expected[:1] != given[:1]:"),
    ("§2.1 every failed code counts toward the lock", "throttle/policies.py",
     "    return counters.reserve(_code_key(user_id, purpose), lock_from=CODE_LOCK_FROM)",
     "    state = counters.read(_code_key(user_id, purpose))\n"
     "    return counters.Reservation(not state.locked_for(), state)"),
    ("§2.1 a locked code step refuses even the right code", "codes/services.py",
     "    if not attempt.allowed:  # locked", "    if False:  # locked"),
    ("§2.1 10 failures lock the code step", "throttle/policies.py",
     "CODE_LOCK_FROM = 10", "CODE_LOCK_FROM = 11"),
    ("§2.1 backoff starts at 30 s", "throttle/counters.py",
     "LOCK_BASE = timedelta(seconds=30)", "LOCK_BASE = timedelta(seconds=15)"),
    ("§2.1 §2.6 a lock lasts at most an hour", "throttle/counters.py",
     "MAX_LOCK = timedelta(hours=1)", "MAX_LOCK = timedelta(hours=2)"),
    ("§2.1 at most 5 codes an hour", "throttle/policies.py",
     "CODES_PER_HOUR, CODE_WINDOW = 5,", "CODES_PER_HOUR, CODE_WINDOW = 6,"),
    ("§2.1 resend cooldown 60 s", "throttle/policies.py",
     "RESEND_COOLDOWN = timedelta(seconds=60)", "RESEND_COOLDOWN = timedelta(seconds=30)"),
    ("§2 a repeated form field is malformed, not 'the last one'", "signin/views.py",
     "    values = request.POST.getlist(field)\n    return values[0] if len(values) == 1 else None",
     "    return request.POST.get(field)"),
    # §2 pending login, §2.2-§2.3 devices
    ("§2 a pending login expires after 10 minutes", "signin/pending.py",
     "LIFETIME = timedelta(minutes=10)", "LIFETIME = timedelta(minutes=11)"),
    ("§2.2 the fingerprint alone never grants trust", "devices/services.py",
     "        if same_device(policy, device.fingerprint, current):", "        if True:"),
    ("§2.2 an OS change is a different device", "devices/fingerprint.py",
     "return (trusted.browser == current.browser and trusted.os == current.os",
     "return (trusted.browser == current.browser"),
    ("§2.2 network policy: IPv4 /24", "devices/fingerprint.py",
     "prefix = 24 if a.version == 4 else 64", "prefix = 16 if a.version == 4 else 64"),
    ("§2.2 network policy: IPv6 /64", "devices/fingerprint.py",
     "prefix = 24 if a.version == 4 else 64", "prefix = 24 if a.version == 4 else 48"),
    ("§2.2 at most 20 devices", "devices/services.py", "MAX_DEVICES = 20", "MAX_DEVICES = 21"),
    ("§2.2 the least recently used device is evicted", "devices/services.py",
     'order_by("-last_used_at", "-id")[MAX_DEVICES:]',
     'order_by("last_used_at", "id")[MAX_DEVICES:]'),
    ("§2.2 the device cookie is HttpOnly", "devices/cookie.py",
     'httponly=True, samesite="Lax"', 'httponly=False, samesite="Lax"'),
    ("§2.2 only the first 512 characters of a User-Agent are parsed", "devices/fingerprint.py",
     "MAX_UA = 512", "MAX_UA = 100000"),
    ("§2.3 a code is asked again after 30 days", "devices/services.py",
     "CODE_FRESHNESS = timedelta(days=30)", "CODE_FRESHNESS = timedelta(days=31)"),
    ("§2.3 a skipped code does not refresh the 30 days", "devices/services.py",
     "    if code_verified:\n        device.last_code_at = now",
     "    if True:\n        device.last_code_at = now"),
    ("§2.3 a change made by the user keeps their device", "devices/services.py",
     "        devices = devices.exclude(pk=keep.pk)", "        pass"),
    # §2.4 sessions, §2.5 client IP
    ("§2.4 a device change mid-session signs out", "signin/middleware.py",
     "            reason = binding_violation(request, ip_policy_for(request.user))",
     "            reason = None"),
    ("§2.4 idle timeout 60 minutes", "signin/sessions.py",
     "IDLE_TIMEOUT = timedelta(minutes=60)", "IDLE_TIMEOUT = timedelta(minutes=61)"),
    ("§2.4 absolute lifetime 12 hours", "signin/sessions.py",
     "ABSOLUTE_LIFETIME = timedelta(hours=12)", "ABSOLUTE_LIFETIME = timedelta(hours=13)"),
    ("§2.5 the right-most untrusted hop wins", "lib/clientip.py",
     "            for hop in reversed(hops):", "            for hop in hops:"),
    ("§2.5 trusted proxies are skipped", "lib/clientip.py",
     "                if not _trusted(address):\n                    break",
     "                if True:\n                    break"),
    ("§2.5 a huge X-Forwarded-For is garbage", "lib/clientip.py",
     "MAX_FORWARDED_HOPS = 32", "MAX_FORWARDED_HOPS = 100000"),
    # §2.6 throttles, §2.7 reset
    ("§2.6 password backoff from the 5th failure", "throttle/policies.py",
     "PASSWORD_LOCK_FROM = 5", "PASSWORD_LOCK_FROM = 6"),
    ("§2.6 20 password failures a minute per IP", "throttle/policies.py",
     "PASSWORD_IP_BUDGET, PASSWORD_IP_WINDOW = 20,",
     "PASSWORD_IP_BUDGET, PASSWORD_IP_WINDOW = 21,"),
    ("§9 an over-long password is never hashed in full (sign-in, unlock)", "users/validators.py",
     "MAX_PASSWORD = 1024", "MAX_PASSWORD = 4096"),
    ("§2.7 5 reset emails an hour per address", "throttle/policies.py",
     "RESET_PER_EMAIL, RESET_PER_IP, RESET_WINDOW = 5, 20,",
     "RESET_PER_EMAIL, RESET_PER_IP, RESET_WINDOW = 6, 20,"),
    ("§2.7 20 reset requests an hour per IP", "throttle/policies.py",
     "RESET_PER_EMAIL, RESET_PER_IP, RESET_WINDOW = 5, 20,",
     "RESET_PER_EMAIL, RESET_PER_IP, RESET_WINDOW = 5, 21,"),
    ("§2.7 a reset link lives 1 hour", "lib/tokens.py",
     'purpose="password-reset", timeout_seconds=3600',
     'purpose="password-reset", timeout_seconds=3700'),
    ("§5 deactivation kills reset and invitation links for good", "lib/tokens.py",
     'f"{user.is_active}|{stamp}")', 'f"{user.is_active}|")'),
    ("§5 a deactivated user's pending sign-in goes no further", "signin/flow.py",
     "        if user is None or not user.is_active or not services.pending_valid(",
     "        if user is None or not services.pending_valid("),
    ("§5 a deactivated or suspended user's open session stops resolving", "signin/backend.py",
     "        return user if user is not None and self.user_can_authenticate(user) else None",
     "        return user"),
    # §3 §5 authorisation
    ("§3 nobody changes their own role or status", "access/rules.py",
     "    return actor.pk != target.pk and administers(actor, target)",
     "    return administers(actor, target)"),
    ("§3 a client user's notifications tab is read-only for them", "access/rules.py",
     "    if actor.pk == target.pk and actor.kind == UserKind.RESELLER:",
     "    if actor.pk == target.pk:"),
    ("§3 only client admins administer their account", "access/rules.py",
     "        return actor.is_client_admin and actor.account_id == account.pk",
     "        return actor.account_id == account.pk"),
    ("§5 a reseller user administers only connected accounts", "access/rules.py",
     "    return Connection.objects.filter(user=actor, account=account).exists()",
     "    return True"),
    ("§5 a suspended account is closed", "access/rules.py",
     "        return ClientAccount.objects.filter(pk=actor.account_id, is_active=True)",
     "        return ClientAccount.objects.filter(pk=actor.account_id)"),
    ("§5 the account guard needs a connection", "access/rules.py",
     "    return ClientAccount.objects.filter(reseller_id=actor.reseller_id,\n"
     "                                        connections__user=actor, is_active=True)",
     "    return ClientAccount.objects.filter(reseller_id=actor.reseller_id,\n"
     "                                        is_active=True)"),
    # §4 Security section
    ("§4 an unlock lasts 10 minutes", "security/unlock.py",
     "UNLOCK_FOR = timedelta(minutes=10)", "UNLOCK_FOR = timedelta(minutes=11)"),
    ("§4 wrong unlock passwords are throttled", "signin/services.py",
     "    if not attempt.allowed:\n        return TOO_MANY", "    if False:\n        pass"),
    ("§4 §2.4 the session key rotates at unlock", "security/unlock.py",
     "        session_rotate_key(request)\n", ""),
    ("§4 an unlock belongs to the user who made it", "security/unlock.py",
     '    if not isinstance(data, dict) or data.get("user_id") != request.user.pk:',
     "    if not isinstance(data, dict):"),
    ("§4 actions reach only the user's own rows", "security/views.py",
     "    obj = model.objects.filter(pk=parse_id(object_id), user=request.user).first() \\",
     "    obj = model.objects.filter(pk=parse_id(object_id)).first() \\"),
    ("§4 action responses are no-store", "security/views.py",
     "    @login_required\n    @never_cache\n    @csrf_protect",
     "    @login_required\n    @csrf_protect"),
    ("§4 at most 50 live tokens", "apitokens/services.py",
     "MAX_LIVE_TOKENS = 50", "MAX_LIVE_TOKENS = 51"),
    # §6 API
    ("§6 an expired token is refused", "apitokens/auth.py",
     "if row.revoked_at is not None or row.expires_at <= now or not user.is_active \\",
     "if row.revoked_at is not None or not user.is_active \\"),
    ("§6 a suspended account's token is refused", "apitokens/auth.py",
     "or user.account is None or not user.account.is_active:", "or user.account is None:"),
    ("§6 last used: at most one write a minute", "apitokens/auth.py",
     "LAST_USED_RESOLUTION = timedelta(minutes=1)", "LAST_USED_RESOLUTION = timedelta(seconds=0)"),
    ("§6 last used records the IP", "apitokens/auth.py",
     "pk=row.pk).update(last_used_at=now, last_used_ip=ip or None)",
     "pk=row.pk).update(last_used_at=now)"),
    # Review findings (issue 11; docs/security.md "Review findings")
    ("R1 an admin's email change waits for the user's approval", "actions/users.py",
     "    if actor.pk != target.pk:\n        _email_change_propose(",
     "    if False:\n        _email_change_propose("),
    ("R1 only the user enters the email-change code", "actions/users.py",
     "    if actor.pk != target.pk:\n        raise PermissionDenied\n    if not unlocked:\n"
     "        raise ValidationError(UNLOCK_FIRST)\n    change = EmailChange.objects.filter("
     "user=target).first()\n    if change is None or change.awaiting_approval:",
     "    if not permissions.can_edit_details(actor, target):\n        raise PermissionDenied"
     "\n    if False:\n        raise ValidationError(UNLOCK_FIRST)\n    change = "
     "EmailChange.objects.filter(user=target).first()\n    if change is None or "
     "change.awaiting_approval:"),
    ("R2 the user's own email change needs the unlock", "actions/users.py",
     "    if actor.pk == target.pk and not unlocked:", "    if False:"),
    ("R3 the reset request looks nobody up", "actions/credentials.py",
     "    password_reset_dispatch.using(queue_name=\"email\").enqueue(email, info.ip,\n"
     "                                                              info.user_agent)",
     "    password_reset_send_all(email=email, info=info)"),
    ("R4 password failures expire after an hour", "throttle/policies.py",
     "PASSWORD_FAILURE_WINDOW = timedelta(hours=1)", "PASSWORD_FAILURE_WINDOW = None"),
    ("R4 the lock-out is per username and source", "throttle/policies.py",
     '    source = f"device:{trusted_browser}" if trusted_browser else f"ip:{ip}"',
     '    source = "any"'),
    ("R4 a trusted browser is exempt from the username-wide ceiling", "throttle/policies.py",
     '    budgets = [(f"pw-user:{username_key}", PASSWORD_USER_LOCK_FROM)] if not '
     'trusted_browser \\\n        else []',
     '    budgets = [(f"pw-user:{username_key}", PASSWORD_USER_LOCK_FROM)]'),
    ("R4 the username-wide ceiling is 50", "throttle/policies.py",
     "PASSWORD_USER_LOCK_FROM = 50", "PASSWORD_USER_LOCK_FROM = 51"),
    ("R5 a password attempt is counted before the hash", "throttle/counters.py",
     "            if (row.locked_until is not None and row.locked_until > now) or (\n"
     "                    budget is not None and row.count >= budget):",
     "            if False:"),
    ("R6 the trust step is claimed once", "signin/services.py",
     "            TrustClaim.objects.create(challenge=pending.challenge, created_at=clock.now())",
     "            pass"),
    ("R7 a fresh device secret on every Yes", "signin/services.py",
     "    secret = new_secret()\n", "    secret = info.device_secret or new_secret()\n"),
    ("R7 __Host- cookies when secure", "settings.py",
     'COOKIE_PREFIX = "__Host-" if SECURE_COOKIES else ""', 'COOKIE_PREFIX = ""'),
    ("R8 the code step comes from where the password step did", "signin/services.py",
     "    return (pending.started_on(ip_policy_for(user), info.fingerprint)\n"
     "            and pending.password_unchanged(user.get_session_auth_hash()))",
     "    return pending.password_unchanged(user.get_session_auth_hash())"),
    ("R8 a password change ends a pending sign-in", "signin/services.py",
     "            and pending.password_unchanged(user.get_session_auth_hash()))",
     "            and True)"),
    ("R9 a sent email keeps no body", "emails/tasks.py",
     '    email.body_text = email.body_html = ""\n    _record_sent(email)',
     '    _record_sent(email)'),
    ("R9 link tokens leave the URL", "record/password_links.py",
     "        request.session[session_key] = token\n        return redirect(",
     "        pass\n        return render(request, template, {}) if False else redirect("),
    ("R9 the access log redacts link tokens", "web/middleware.py",
     '    path = LINK_TOKEN.sub(r"\\1[redacted]/", request.path)', "    path = request.path"),
    ("R9 the access log escapes the path", "web/middleware.py",
     "    line = quote(path, safe=SAFE_CHARS)", "    line = path"),
    ("R10 a password reset revokes API tokens", "actions/credentials.py",
     '    "password_reset": (True, True, True),', '    "password_reset": (True, True, False),'),
    ("R10 suspending ends the users' sessions", "actions/tenants.py",
     "            for user in users:\n                ended += sessions_end_all(user=user)",
     "            pass"),
    ("R11 admin mail is budgeted per target", "throttle/policies.py",
     "ADMIN_MAIL_PER_ACTOR, ADMIN_MAIL_PER_TARGET = 30, 3",
     "ADMIN_MAIL_PER_ACTOR, ADMIN_MAIL_PER_TARGET = 30, 4"),
    ("R11 admin mail is budgeted per actor", "throttle/policies.py",
     "ADMIN_MAIL_PER_ACTOR, ADMIN_MAIL_PER_TARGET = 30, 3",
     "ADMIN_MAIL_PER_ACTOR, ADMIN_MAIL_PER_TARGET = 31, 3"),
    ("R11 names carry no web address", "users/validators.py",
     "    if LOOKS_LIKE_URL.search(value):", "    if False:"),
    ("R11 email-change codes have their own counter", "throttle/policies.py",
     '    return f"code-user:{user_id}" if purpose == "login" else f"code-{purpose}:{user_id}"',
     '    return f"code-user:{user_id}"'),
    ("R11 an email-change lock-out sends no password alert", "codes/services.py",
     "    if state.count == policies.CODE_LOCK_FROM and purpose == CodePurpose.LOGIN:",
     "    if state.count == policies.CODE_LOCK_FROM:"),
    ("R12 X-Forwarded-Proto only from trusted proxies", "web/middleware.py",
     '        if "HTTP_X_FORWARDED_PROTO" in request.META and not peer_is_trusted_proxy(request):',
     "        if False:"),
    # §12 forward auth: the pages' session rules, on the fast path too
    ("§12 §2.4 forward auth ends a session whose device changed", "forwardauth/middleware.py",
     "    if (binding_reason(data, fingerprint(request), ip_policy_for(user), now) is not None",
     "    if (False"),
    ("§12 forward auth refuses a user who may not sign in", "forwardauth/middleware.py",
     "    if not may_sign_in(user):\n        return unauthorized(request)",
     "    if False:\n        return unauthorized(request)"),
    ("§12 forward auth checks the session's password hash", "forwardauth/middleware.py",
     "            or not constant_time_compare(str(data.get(HASH_SESSION_KEY, \"\")),\n"
     "                                         session_auth_hash(user.password))):",
     "            or False):"),
    ("§12 a session ended on the full stack is a 401", "forwardauth/middleware.py",
     "            if 300 <= answer.status_code < 400:", "            if False:"),
    ("§12 next= only to FORWARD_AUTH_HOSTS", "signin/next_url.py",
     "    if host is None or not forward_host_allowed(host):", "    if host is None:"),
    ("§12 next= never carries a CR or LF", "signin/next_url.py",
     'if not value.isascii() or not value.isprintable() or " " in value:',
     "if False:"),
    ("§12 the original URL only from TRUSTED_PROXIES", "forwardauth/responses.py",
     "    if not peer_is_trusted_proxy(request):\n        return None",
     "    if False:\n        return None"),
    ("§12 X-Auth-Require must hold", "forwardauth/responses.py",
     "    if reason is not None:\n        return refused(reason)",
     "    if False:\n        return refused(reason)"),
    ("§12 an unreadable X-Auth-Require is refused", "forwardauth/responses.py",
     "    except requirements.Unreadable as problem:\n        return refused(str(problem))",
     "    except requirements.Unreadable:\n        demanded = []"),
    ("§12 fresh-code wants a code in this sign-in", "forwardauth/responses.py",
     "                                fresh_code=second_factor(proofs) is not None,",
     "                                fresh_code=True,"),
    # §11 single sign-on
    ("§11 a session's end revokes its apps' token families", "sso/services.py",
     "            RefreshToken.revoke_family(row.family)", "            pass"),
    ("§11 a session's end queues a back-channel logout", "sso/services.py",
     "            if client is not None and client.backchannel_logout_uri:",
     "            if False:"),
    ("§11 every way a session row goes ends its apps' sign-ins", "sso/sessions.py",
     "    authorizations_end(Authorization.objects.filter(session_ref=instance.pk))",
     "    pass"),
    ("§11 idle sessions are swept (and their apps logged out)", "ops/housekeeping.py",
     "        | Q(last_seen_at__lt=now - IDLE_TIMEOUT - SEEN_RESOLUTION)",
     "        | Q(pk__in=[])"),
    ("§11 a code used twice revokes what its first use got", "sso/validator.py",
     "        if row is not None and row.family is not None:", "        if False:"),
    ("§11 an account's app refuses other accounts' users", "sso/selectors.py",
     "    return belongs_to(user, client.account_id)", "    return True"),
    ("§11 userinfo refused for a user who can no longer sign in", "sso/validator.py",
     "        if not row.may_sign_in:\n            return False",
     "        if False:\n            return False"),
    ("§11 acr=urn:loginguard:code demands a code on a trusted device", "signin/services.py",
     "devices.code_is_fresh(device) and not (force_code or",
     "devices.code_is_fresh(device) and not (False or"),
    ("§11 prompt=login demands the password again", "sso/views.py",
     '        if "login" in demands.prompt:\n            return "prompt_login"',
     '        if False:\n            return "prompt_login"'),
    ("§11 max_age demands the password again", "sso/views.py",
     "                clock.now() - self.user_session.created_at > "
     "timedelta(seconds=demands.max_age):",
     "                False:"),
    ("§11 prompt=none answers login_required without a page", "sso/views.py",
     '        if "none" in demands.prompt:\n            return self._error_redirect(credentials, '
     '"login_required")\n        return self._to_sign_in(demands)',
     "        return self._to_sign_in(demands)"),
    ("§11 amr has otp only when a code was entered", "factors/proofs.py",
     'Proof.TRUSTED_DEVICE: Kind(None,', 'Proof.TRUSTED_DEVICE: Kind("otp",'),
    ("§11 sub is never the username (ID token)", "sso/validator.py",
     '        claims["sub"] = getattr(request, "lg_sub", None) or services.subject_for('
     'request.user)',
     '        claims["sub"] = request.user.username'),
    ("§11 sub is never the username (userinfo)", "sso/selectors.py",
     '        claims = {"sub": self.sub,', '        claims = {"sub": user.username,'),
    # Caught by tests/sso/test_race.py, which runs on PostgreSQL only: run this entry with
    # DATABASE_URL set to a PostgreSQL server (-k "at once").
    ("§11 a code is exchanged once, even at once (PostgreSQL)", "sso/validator.py",
     "        if not Authorization.objects.filter(pk=row.pk, exchanged_at__isnull=True).update(\n"
     "                exchanged_at=clock.now()):",
     "        if False:"),
    ("§11 PKCE for every client", "settings.py",
     '"PKCE_REQUIRED": True,', '"PKCE_REQUIRED": False,'),
    ("§11 a reused refresh token revokes its family", "settings.py",
     '"REFRESH_TOKEN_REUSE_PROTECTION": True,', '"REFRESH_TOKEN_REUSE_PROTECTION": False,'),
    ("§11 client secrets are stored hashed", "actions/clients.py",
     "hash_client_secret=True,", "hash_client_secret=False,"),
    ("§11 tokens are stored hashed", "settings.py",
     '"COMPLIANT_BCP_RFC9700_TOKEN_STORAGE": True,',
     '"COMPLIANT_BCP_RFC9700_TOKEN_STORAGE": False,'),
    ("§11 account apps ask for consent", "actions/clients.py",
     "skip_authorization=account is None,", "skip_authorization=True,"),
    ("§11 a failing back-channel is retried, then recorded", "sso/backchannel.py",
     "        if attempts >= settings.BACKCHANNEL_MAX_ATTEMPTS:", "        if False:"),
    ("§11 a sign-in page admits the origin of the app it continues to in form-action",
     "web/middleware.py",
     '                policy = policy.replace("form-action ", f"form-action {origin} ", 1)',
     "                pass"),
    # Issue 25: the attack run and strict clients (docs/security.md, findings S1–S17)
    ("S1 a consent POST acts only on the request its GET validated", "sso/views.py",
     "        stored = self._consent_taken(request.POST.get(\"consent\"))\n"
     "        if stored is None:",
     "        stored = self._consent_taken(request.POST.get(\"consent\"))\n"
     "        if False:"),
    ("S1 a repeated OAuth parameter is invalid_request", "sso/views.py",
     "        if repeated:  # RFC 6749 §3.1", "        if False:  # RFC 6749 §3.1"),
    ("S2 an app registered on a page needs public addresses", "sso/uris.py",
     "    if not all(is_public(address) for address in addresses):",
     "    if False:"),
    ("S2 an app's logout URI is https on a page", "sso/uris.py",
     '    if parts.scheme != "https":\n        loopback',
     '    if parts.scheme not in ("http", "https"):\n        loopback'),
    ("S2 the worker re-checks the address it delivers to", "sso/backchannel.py",
     "    addresses = uris.resolve(host) if allow_private else uris.public_addresses(host)",
     "    addresses = uris.resolve(host)"),
    ("S3 a present but empty X-Auth-Require is refused", "forwardauth/requirements.py",
     '    if not terms:\n        raise Unreadable("X-Auth-Require is present but empty")',
     '    if not terms:\n        return []'),
    ("S3 X-Auth-Require must be printable ASCII", "forwardauth/requirements.py",
     "    if not header.isascii() or not header.isprintable():",
     "    if False:"),
    ("S4 an authorization request is validated before a session ends", "sso/views.py",
     "        validated = self._validated()\n        if isinstance(validated, HttpResponse):\n"
     "            return validated\n        _, credentials = validated\n"
     "        demands = Demands.of(credentials[\"request\"])\n"
     "        reason = self._sign_in_again(",
     "        try:\n            validated = self._validated()\n        except Exception:\n"
     "            validated = ([], {\"request\": request.GET})\n"
     "        if isinstance(validated, HttpResponse):\n            validated = ([], {\"request\": "
     "type(\"R\", (), {\"max_age\": request.GET.get(\"max_age\"), \"prompt\": request.GET.get("
     "\"prompt\"), \"acr_values\": request.GET.get(\"acr_values\")})()})\n"
     "        _, credentials = validated\n"
     "        demands = Demands.of(credentials[\"request\"])\n"
     "        reason = self._sign_in_again("),
    ("S4 an id_token_hint skips the question only for this session", "sso/views.py",
     "        return row is None or hint.sid is None or \\\n"
     "            not secrets.compare_digest(hint.sid, sid_for(row))",
     "        return False"),
    ("S5 a bound app sees only its own account", "sso/selectors.py",
     "        if bound is not None:\n            connected = connected.filter(pk=bound)",
     "        if False:\n            connected = connected.filter(pk=bound)"),
    ("S6 userinfo takes the token from the header only", "sso/views.py",
     '        if "access_token" in request.GET or "access_token" in request.POST:',
     "        if False:"),
    ("S7 introspection answers a client about its own tokens only", "sso/introspection.py",
     "        if access.application_id != client.pk or access.expires <= now:",
     "        if access.expires <= now:"),
    ("S7 introspection needs a confidential client", "sso/introspection.py",
     "    if client is None or client.client_type != Application.CLIENT_CONFIDENTIAL:",
     "    if client is None:"),
    ("S9 form-action admits one app's origin, never every tenant's", "sso/selectors.py",
     "    if application is None or not application.redirect_uri_allowed(uris[0]):",
     "    if application is None:"),
    ("S10 flash messages live in the session", "settings.py",
     'MESSAGE_STORAGE = "django.contrib.messages.storage.session.SessionStorage"',
     'MESSAGE_STORAGE = "django.contrib.messages.storage.fallback.FallbackStorage"'),
    ("S11 a refresh that lost a race is invalid_grant, never a 500", "sso/urls.py",
     "no_nul(views.TokenEndpointView.as_view())", "no_nul(toolkit.TokenView.as_view())"),
    ("S12 an id_token_hint is verified with every published key", "sso/keys.py",
     "        verified = jwt.JWT(jwt=token, key=published_keys(), check_claims=check,",
     "        verified = jwt.JWT(jwt=token, key=jwk_from_pem(published_pems()[0]), "
     "check_claims=check,"),
    ("S13 an admin's proposal never replaces the user's own change", "actions/users.py",
     "    if own is not None and clock.now() - own < CODE_LIFETIME:",
     "    if False:"),
    ("S14 every redirect back to an app carries iss", "sso/views.py",
     "        return super().redirect(with_iss(redirect_to), application)",
     "        return super().redirect(redirect_to, application)"),
    ("S15 each key id is published once", "sso/views.py",
     '        response.content = json.dumps({"keys": unique}).encode()',
     '        response.content = json.dumps({"keys": found}).encode()'),
    ("S15 two keys under one key id stop start-up", "sso/keys.py",
     "        if public.setdefault(kid, exported) != exported:",
     "        if False:"),
    ("S16 discovery advertises only the code flow", "sso/views.py",
     '            "response_types_supported": ["code"],',
     '            "response_types_supported": ["code", "code id_token"],'),
    ("S16 a redirect URI mismatch at the token endpoint is invalid_grant", "sso/validator.py",
     "        if grant is None or not grant.redirect_uri_allowed(redirect_uri):\n            #",
     "        if grant is None or not grant.redirect_uri_allowed(redirect_uri):\n"
     "            return False\n            #"),
    ("S17 an X-Auth-* header is never empty", "forwardauth/responses.py",
     'NONE = "-"', 'NONE = ""'),
    # §13 running it
    ("§13 /metrics only with the bearer token", "web/middleware.py",
     "    if not hmac.compare_digest(sent.encode(), expected.encode()):",
     "    if False:"),
    ("§13 §4 a session re-signed under a fallback key stays in the session list",
     "signin/sessions.py",
     "        UserSession.objects.filter(session_key=filed).update(session_key=key)",
     "        pass"),
    ("§13 the password step fails closed while Redis is down (503)", "web/views.py",
     "    if cause is not None:  # the database or Redis is down: a clear 503, not a 500",
     "    if False:"),
    # §4 pages (issue 16): destroying asks first; a GET never does it
    ("§4 removing a device, a session or a token needs the confirmation's POST",
     "security/views.py",
     "        if request.method == \"POST\":\n            return view(request, *args, **kwargs)",
     "        if True:\n            return view(request, *args, **kwargs)"),
    # §14 factors beyond the mailbox (issue 27)
    ("§14 an app's code works once per step", "factors/totp.py",
     "pk=app.pk, last_step__lt=step)", "pk=app.pk, last_step__lte=step)"),
    ("§14 an app's code is accepted one step either side, no more", "factors/totp.py",
     "DIGITS, STEP, WINDOW = 6, 30, 1", "DIGITS, STEP, WINDOW = 6, 30, 2"),
    ("§14 the app's secret is encrypted at rest", "factors/totp.py",
     "secret=encrypt(secret),", "secret=secret,"),
    ("§14 the app's secret stays readable under SECRET_KEY_FALLBACKS", "factors/totp.py",
     "    keys = [settings.SECRET_KEY, *settings.SECRET_KEY_FALLBACKS]",
     "    keys = [settings.SECRET_KEY]"),
    ("§14 wrong app and recovery codes count on the code step's lock", "codes/services.py",
     "    if not attempt.allowed:\n        count_failure(",
     "    if False:\n        count_failure("),
    ("§14 a recovery code works once", "factors/recovery.py",
     "        spent = RecoveryCode.objects.filter(user=user, used_at=None,",
     "        spent = RecoveryCode.objects.filter(user=user,"),
    ("§14 using a recovery code emails the user", "factors/recovery.py",
     "        emails.send_recovery_code_used(user=user, remaining=left, info=info)",
     "        pass"),
    ("§14 adding a factor emails the user", "factors/totp.py",
     "        emails.send_factor_changed(user=user, added=True, factor=\"an authenticator app\",",
     "        (lambda **kw: None)(user=user, added=True, factor=\"an authenticator app\","),
    ("§14 a passkey challenge expires after 5 minutes", "factors/passkeys.py",
     "CHALLENGE_LIFETIME = timedelta(minutes=5)", "CHALLENGE_LIFETIME = timedelta(minutes=6)"),
    ("§14 a passkey challenge is single-use across processes", "factors/passkeys.py",
     "            UsedChallenge.objects.create(value=bytes_to_base64url(challenge),",
     "            (lambda **kw: None)(value=bytes_to_base64url(challenge),"),
    ("§14 a passkey challenge is for one purpose", "factors/passkeys.py",
     "        valid = (isinstance(kept, dict) and kept.get(\"purpose\") == purpose",
     "        valid = (isinstance(kept, dict)"),
    ("§14 a passkey answer is checked against BASE_URL's origin", "factors/passkeys.py",
     "            expected_origin=origin(), credential_public_key=",
     "            expected_origin=[origin(), \"https://phish.example\"], credential_public_key="),
    ("§14 passkeys need user verification", "factors/passkeys.py",
     "            expected_origin=origin(), require_user_verification=True)",
     "            expected_origin=origin(), require_user_verification=False)"),
    ("§14 a sign counter that goes back is refused", "factors/passkeys.py",
     "    if (new > 0 or passkey.sign_count > 0) and new <= passkey.sign_count:",
     "    if False:"),
    ("§14 another user's passkey is refused at their second step", "factors/passkeys.py",
     "    if found is None or (user is not None and found.user_id != user.pk):",
     "    if found is None:"),
    ("§14 an IP address is never the WebAuthn RP ID", "factors/passkeys.py",
     "        return host or None\n    return None",
     "        return host or None\n    return host"),
    ("§14 once enrolled, the emailed code is no longer accepted", "factors/policy.py",
     "        allowed = [k for k in keys if BY_KEY[k].beyond_email "
     "or k == \"recovery_codes\"]",
     "        allowed = keys"),
    ("§14 passkey level accepts passkeys only", "factors/policy.py",
     "        allowed = [k for k in keys if BY_KEY[k].phishing_resistant "
     "or k == \"recovery_codes\"]",
     "        allowed = keys"),
    ("§14 a user without the factor enrols before anything else", "signin/middleware.py",
     "        if request.user.is_authenticated and enrollment_due(request.session) and \\",
     "        if False and \\"),
    ("§14 forward auth sends an enrolling user to the enrolment", "forwardauth/responses.py",
     "    if enrollment_due(session):  # SPEC §14", "    if False:  # SPEC §14"),
    ("§14 a reset link asks for the factor", "record/password_links.py",
     "    if needs_factor and strong_factors(user) and not _factor_given(request, user, token):",
     "    if False:"),
    ("§14 unlocking asks for the factor too", "security/unlock.py",
     "    if strong_factors(user):", "    if False:"),
    ("§14 reset factors ends every session", "actions/credentials.py",
     "        credentials_revoke(user=target, reason=\"factors_reset\")", "        pass"),
    ("§14 reset factors is for those who administer the user", "actions/credentials.py",
     "    if actor is not None and not can_edit_permissions(actor, target):",
     "    if False:"),
    ("§14 a policy change is audited", "actions/tenants.py",
     "            audit_log(event_type=EventType.ACCOUNT_FACTOR_POLICY_CHANGED, actor=actor,",
     "            (lambda **kw: None)(event_type=EventType.ACCOUNT_FACTOR_POLICY_CHANGED, "
     "actor=actor,"),
    ("§14 amr says mfa when two factors were used", "factors/proofs.py",
     '    return [*values, "mfa"] if len(values) > 1 else values', "    return values"),
    ("§14 acr_values=urn:loginguard:passkey demands a passkey", "signin/flow.py",
     "        passkey_only = bool(session.pop(FORCE_PASSKEY_KEY, False))",
     "        passkey_only = False"),
    ("§14 X-Auth-Require: passkey", "forwardauth/requirements.py",
     '        if requirement.kind == "passkey" and not passkey:', "        if False:"),
    # The security overview (issue 29)
    ("overview: answering an alert needs the unlock", "security/views.py",
     "@security_action\ndef alert_answer_view(",
     "@login_required\n@csrf_protect\ndef alert_answer_view("),
    ("overview: a user answers only their own alerts", "actions/alerts.py",
     "        pk=event_id, subject=user, event_type__in=list(ALERTS),",
     "        pk=event_id, event_type__in=list(ALERTS),"),
    ("overview: only those who administer an account count it", "overview/views.py",
     "    return access_administered_account(actor_of(request), account_id)",
     "    return ClientAccount.objects.get(pk=account_id)"),
    ("overview: across accounts, only the connected ones", "overview/views.py",
     '    return list(visible_accounts(actor).select_related("reseller").order_by("name"))',
     '    return list(ClientAccount.objects.select_related("reseller").order_by("name"))'),
    ("overview: a chart answers with its own CSP", "overview/views.py",
     '    response["Content-Security-Policy"] = charts.CSP', "    pass"),
    # §9 headers
    ("§9 HSTS when secure", "settings.py",
     "SECURE_HSTS_SECONDS = 31536000 if SECURE_COOKIES else 0", "SECURE_HSTS_SECONDS = 0"),
]

# test_rule_mutants checks this script's own entries against the code, which a mutant
# changes; tests/faults starts whole installations from bench/, which the copy leaves out.
SKIP = ["--ignore=tests/e2e", "--ignore=tests/web/test_fuzz.py",
        "--ignore=tests/api/test_schemathesis.py", "--ignore=tests/ops/test_rule_mutants.py",
        "--ignore=tests/faults"]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("-k", default="", help="only rules whose label contains this text")
    parser.add_argument("--check", action="store_true",
                        help="only check that every rule's code text is found (seconds)")
    args = parser.parse_args()
    rules = [r for r in RULES if args.k.lower() in r[0].lower()]
    if args.check:
        missing = [f"{rule}: not found once in {file}" for rule, file, text, _ in rules
                   if (ROOT / "src" / "loginguard" / file).read_text().count(text) != 1]
        print("\n".join(missing) or f"all {len(rules)} rules found")
        return 1 if missing else 0
    work = Path(tempfile.mkdtemp(prefix="lg-mutants-"))
    try:
        # The tests read the docs (runbooks, the nginx snippet) and deploy/ too.
        for part in ("src", "tests", "docs", "deploy"):
            shutil.copytree(ROOT / part, work / part,
                            ignore=shutil.ignore_patterns("__pycache__"))
        for name in ("pyproject.toml", "uv.lock", "README.md"):  # deploy/Containerfile's
            shutil.copy(ROOT / name, work)
        env = {**os.environ, "PYTHONPATH": str(work / "src")}
        bad = 0
        for n, (rule, file, text, replacement) in enumerate(rules, 1):
            path = work / "src" / "loginguard" / file
            original = path.read_text()
            prefix = f"[{n}/{len(rules)}] {rule}:"
            if original.count(text) != 1:
                print(f"{prefix} NOT FOUND in {file} — update this entry", flush=True)
                bad += 1
                continue
            path.write_text(original.replace(text, replacement))
            start = time.monotonic()
            try:
                result = subprocess.run(
                    [sys.executable, "-m", "pytest", "-x", "-q", *SKIP], cwd=work, env=env,
                    capture_output=True, text=True)
            finally:
                path.write_text(original)
            took = f"({time.monotonic() - start:.0f} s)"
            failed = [line.split(" - ")[0].removeprefix("FAILED ")
                      for line in result.stdout.splitlines() if line.startswith("FAILED")]
            if result.returncode == 0:
                print(f"{prefix} SURVIVED — no test fails without this rule {took}", flush=True)
                bad += 1
            elif not failed:
                # No test failed: the suite did not run (a collection error, a missing
                # file), which proves nothing about the rule.
                tail = " | ".join(result.stdout.strip().splitlines()[-3:])
                print(f"{prefix} ERROR — the suite did not run {took}: {tail}", flush=True)
                bad += 1
            else:
                print(f"{prefix} caught by {failed[0]} {took}", flush=True)
        print(f"{len(rules) - bad} of {len(rules)} rules have a test that fails without them")
        return 1 if bad else 0
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
