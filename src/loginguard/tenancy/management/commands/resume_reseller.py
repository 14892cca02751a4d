from loginguard.tenancy.models import Reseller
from loginguard.tenancy.suspension import SuspensionCommand


class Command(SuspensionCommand):
    help = (
        "Resume a suspended reseller: its reseller users can sign in again (old sessions "
        "stay ended)."
    )
    model = Reseller
    active = True
