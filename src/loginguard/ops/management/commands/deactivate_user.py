from loginguard.ops.management.commands._activation import ActivationCommand


class Command(ActivationCommand):
    help = (
        "Deactivate a user: they can no longer sign in; their sessions end, their trusted "
        "devices, API tokens and outstanding reset or invitation links stop working, and "
        "they get an email saying so. Audited (user.deactivated, via cli)."
    )
    active = False
