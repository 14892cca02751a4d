from loginguard.ops.management.commands._suspension import SuspensionCommand
from loginguard.tenancy.models import ClientAccount


class Command(SuspensionCommand):
    help = (
        "Suspend a client account: its users can no longer sign in, their sessions end "
        "for good and its API tokens stop working, until resume_account."
    )
    model = ClientAccount
    active = False
