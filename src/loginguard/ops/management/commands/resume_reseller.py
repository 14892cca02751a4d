from loginguard.ops.management.commands._suspension import SuspensionCommand
from loginguard.tenancy.models import Reseller


class Command(SuspensionCommand):
    help = (
        "Resume a suspended reseller: its reseller users can sign in again (old sessions "
        "stay ended)."
    )
    model = Reseller
    active = True
