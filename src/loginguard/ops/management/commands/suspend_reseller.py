from loginguard.ops.management.commands._suspension import SuspensionCommand
from loginguard.tenancy.models import Reseller


class Command(SuspensionCommand):
    help = (
        "Suspend a reseller: its reseller users can no longer sign in and their sessions "
        "end for good, until resume_reseller."
    )
    model = Reseller
    active = False
