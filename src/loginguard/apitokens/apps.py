from django.apps import AppConfig


class ApitokensConfig(AppConfig):
    name = "loginguard.apitokens"
    label = "apitokens"
