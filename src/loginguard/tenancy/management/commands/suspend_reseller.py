from loginguard.tenancy.models import Reseller
from loginguard.tenancy.suspension import SuspensionCommand


class Command(SuspensionCommand):
    help = (
        "Suspend a reseller: its reseller users can no longer sign in and their sessions "
        "end for good, until resume_reseller."
    )
    model = Reseller
    active = False
