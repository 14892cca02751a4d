from django.apps import AppConfig


class ForwardAuthConfig(AppConfig):
    name = "loginguard.forwardauth"
    label = "forwardauth"
