from loginguard.tenancy.models import ClientAccount
from loginguard.tenancy.suspension import SuspensionCommand


class Command(SuspensionCommand):
    help = (
        "Suspend a client account: its users can no longer sign in, their sessions end "
        "for good and its API tokens stop working, until resume_account."
    )
    model = ClientAccount
    active = False
