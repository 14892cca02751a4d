from django.apps import AppConfig


class UsersConfig(AppConfig):
    name = "loginguard.users"
    label = "users"
