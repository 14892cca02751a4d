from django.apps import AppConfig


class DevicesConfig(AppConfig):
    name = "loginguard.devices"
    label = "devices"
