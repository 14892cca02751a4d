from django.apps import AppConfig
from django.db.models.signals import post_migrate, pre_migrate


class TenancyConfig(AppConfig):
    name = "loginguard.tenancy"
    label = "tenancy"

    def ready(self) -> None:
        from loginguard.tenancy import triggers

        # Once per migrate run (sender=self), around the whole plan.
        pre_migrate.connect(triggers.drop_triggers, sender=self,
                            dispatch_uid="tenancy-drop-triggers")
        post_migrate.connect(triggers.install_triggers, sender=self,
                             dispatch_uid="tenancy-install-triggers")
