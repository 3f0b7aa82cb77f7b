from celery import shared_task

from helpdesk.services.tenancy import invitations_purge_expired


@shared_task
def purge_expired_invitations_task() -> int:
    return invitations_purge_expired()
