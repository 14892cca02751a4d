from loginguard.ops.management.commands._activation import ActivationCommand


class Command(ActivationCommand):
    help = (
        "Reactivate a deactivated user: they can sign in again, with a code (their old "
        "devices and tokens stay revoked). Audited (user.reactivated, via cli)."
    )
    active = True
