from django.apps import AppConfig


class ThrottleConfig(AppConfig):
    name = "loginguard.throttle"
    label = "throttle"
