from django.db import models


class EventType(models.TextChoices):
    """Every kind of security event loginguard records. One enum, so the security log
    and its filters never meet an event type nobody declared."""

    RESELLER_CREATED = "reseller.created", "Reseller created"
    ACCOUNT_CREATED = "account.created", "Client account created"
    ACCOUNT_IP_POLICY_CHANGED = "account.ip_policy_changed", "IP policy changed"
    ACCOUNT_RENAMED = "account.renamed", "Client account renamed"
    RESELLER_IP_POLICY_CHANGED = "reseller.ip_policy_changed", "Reseller IP policy changed"
    ACCOUNT_SUSPENDED = "account.suspended", "Client account suspended"
    ACCOUNT_RESUMED = "account.resumed", "Client account resumed"
    RESELLER_SUSPENDED = "reseller.suspended", "Reseller suspended"
    RESELLER_RESUMED = "reseller.resumed", "Reseller resumed"
    USER_CREATED = "user.created", "User created"
    USER_INVITED = "user.invited", "User invited"
    USER_CONNECTED = "user.connected", "Reseller user connected"
    USER_DISCONNECTED = "user.disconnected", "Reseller user disconnected"
    USER_UPDATED = "user.updated", "User details changed"
    USER_DEACTIVATED = "user.deactivated", "User deactivated"
    USER_REACTIVATED = "user.reactivated", "User reactivated"
    USER_UNLOCKED = "user.unlocked", "Sign-in lock cleared"
    LOGIN_SUCCEEDED = "login.succeeded", "Signed in"
    LOGIN_FAILED = "login.failed", "Failed sign-in"
    LOGIN_THROTTLED = "login.throttled", "Sign-in throttled"
    CODE_SENT = "code.sent", "Verification code sent"
    CODE_FAILED = "code.failed", "Wrong verification code"
    CODE_LOCKED = "code.locked", "Code step locked"
    CODE_VERIFIED = "code.verified", "Verification code accepted"
    DEVICE_TRUSTED = "device.trusted", "Device trusted"
    DEVICE_USED = "device.used", "Signed in from a trusted device"
    DEVICE_EVICTED = "device.evicted", "Oldest trusted device removed"
    DEVICE_RENAMED = "device.renamed", "Trusted device renamed"
    DEVICE_REVOKED = "device.revoked", "Trusted device removed"
    UNTRUSTED_LOGIN = "login.untrusted_device", "Signed in from an untrusted device"
    SESSION_ENDED = "session.ended", "Signed out"
    SESSION_FINGERPRINT_CHANGED = "session.fingerprint_changed", "Signed out: device changed"
    SESSION_EXPIRED = "session.expired", "Session expired"
    SESSION_REVOKED = "session.revoked", "Session signed out remotely"
    PASSWORD_CHANGED = "password.changed", "Password changed"
    PASSWORD_RESET_REQUESTED = "password.reset_requested", "Password reset requested"
    PASSWORD_RESET_COMPLETED = "password.reset_completed", "Password reset"
    EMAIL_CHANGE_REQUESTED = "email.change_requested", "Email change requested"
    EMAIL_CHANGED = "email.changed", "Email changed"
    SECURITY_UNLOCKED = "security.unlocked", "Security section unlocked"
    SECURITY_UNLOCK_FAILED = "security.unlock_failed", "Security unlock failed"
    TOKEN_CREATED = "token.created", "API token created"
    TOKEN_REVOKED = "token.revoked", "API token revoked"
    SSO_CLIENT_CREATED = "sso.client_created", "App registered for single sign-on"
    SSO_CLIENT_DELETED = "sso.client_deleted", "App removed from single sign-on"
    SSO_AUTHORIZED = "sso.authorized", "Signed in to an app"
    SSO_REFUSED = "sso.refused", "Sign-in to an app refused"
    SSO_APP_REVOKED = "sso.app_revoked", "Connected app disconnected"
    SSO_LOGOUT_FAILED = "sso.logout_failed", "App could not be told of a sign-out"
    FACTOR_ADDED = "factor.added", "Sign-in factor added"
    FACTOR_REMOVED = "factor.removed", "Sign-in factor removed"
    FACTOR_RENAMED = "factor.renamed", "Sign-in factor renamed"
    FACTOR_USED = "factor.used", "Sign-in factor used"
    FACTORS_RESET = "factors.reset", "Sign-in factors reset"
    RECOVERY_CODE_USED = "recovery_code.used", "Recovery code used"
    RECOVERY_CODES_GENERATED = "recovery_codes.generated", "Recovery codes generated"
    PASSKEY_COUNTER_REGRESSED = "passkey.counter_regressed", "Passkey refused: counter went back"
    ACCOUNT_FACTOR_POLICY_CHANGED = "account.factor_policy_changed", "Factor policy changed"
    RESELLER_FACTOR_POLICY_CHANGED = ("reseller.factor_policy_changed",
                                      "Reseller factor policy changed")
    ALERT_CONFIRMED = "alert.confirmed", "Alert answered: this was me"
    ALERT_DENIED = "alert.denied", "Alert answered: this wasn't me"


# What the user's home asks about (issue 29): events of the last 30 days a user should
# recognise, each answered "This was me" or "This wasn't me".
ALERTS: dict[str, str] = {
    EventType.UNTRUSTED_LOGIN: "Sign-in from a device you had not trusted",
    EventType.CODE_LOCKED: "Password right, code wrong: sign-in locked",
    EventType.FACTOR_ADDED: "Sign-in factor added",
    EventType.FACTOR_REMOVED: "Sign-in factor removed",
    EventType.FACTORS_RESET: "Sign-in factors reset by an administrator",
    EventType.RECOVERY_CODES_GENERATED: "New recovery codes created",
    EventType.RECOVERY_CODE_USED: "Recovery code used to sign in",
    EventType.TOKEN_CREATED: "API token created",
}
ALERT_DAYS = 30
