from django.apps import AppConfig


class ApiConfig(AppConfig):
    name = "loginguard.api"
    label = "api"
