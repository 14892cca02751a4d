from django.apps import AppConfig


class GatewayConfig(AppConfig):
    name = "loginguard.gateway"
    label = "gateway"
