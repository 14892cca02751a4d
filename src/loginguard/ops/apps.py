from django.apps import AppConfig


class OpsConfig(AppConfig):
    name = "loginguard.ops"
    label = "ops"
