from django.apps import AppConfig


class FactorsConfig(AppConfig):
    name = "loginguard.factors"
    label = "factors"
    verbose_name = "Sign-in factors"

    def ready(self) -> None:
        from loginguard.factors import checks  # noqa: F401  (registers the check)
