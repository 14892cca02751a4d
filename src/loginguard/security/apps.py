from django.apps import AppConfig


class SecurityConfig(AppConfig):
    name = "loginguard.security"
    label = "security"
