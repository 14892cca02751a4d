from django.apps import AppConfig


class WebConfig(AppConfig):
    name = "loginguard.web"
    label = "web"
