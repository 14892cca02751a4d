from loginguard.ops.management.commands._suspension import SuspensionCommand
from loginguard.tenancy.models import ClientAccount


class Command(SuspensionCommand):
    help = (
        "Resume a suspended client account: its users can sign in again (old sessions "
        "stay ended)."
    )
    model = ClientAccount
    active = True
