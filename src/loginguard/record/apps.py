from django.apps import AppConfig


class RecordConfig(AppConfig):
    """The user record (SPEC §3–§4): Edit User with its tabs, email changes, the password
    pages (reset, invitation) and the Security section's pages."""

    name = "loginguard.record"
    label = "record"
