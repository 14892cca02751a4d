from django.apps import AppConfig


class CodesConfig(AppConfig):
    name = "loginguard.codes"
    label = "codes"
