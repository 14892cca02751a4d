from django.apps import AppConfig


class AuditConfig(AppConfig):
    name = "loginguard.audit"
    label = "audit"
