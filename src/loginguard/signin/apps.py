from django.apps import AppConfig


class SigninConfig(AppConfig):
    name = "loginguard.signin"
    label = "signin"
