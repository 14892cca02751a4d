from loginguard.tenancy.models import ClientAccount
from loginguard.tenancy.suspension import SuspensionCommand


class Command(SuspensionCommand):
    help = (
        "Resume a suspended client account: its users can sign in again (old sessions "
        "stay ended)."
    )
    model = ClientAccount
    active = True
