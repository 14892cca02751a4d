from django.apps import AppConfig


class TenancyConfig(AppConfig):
    name = "loginguard.tenancy"
    label = "tenancy"
