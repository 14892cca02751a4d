from django.apps import AppConfig


class EmailsConfig(AppConfig):
    name = "loginguard.emails"
    label = "emails"
