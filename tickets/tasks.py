from celery import shared_task

from tickets.delivery import message_deliver


@shared_task(bind=True, acks_late=True, max_retries=None)
def deliver_message_task(self, organization_id: int, message_id: int) -> str:  # type: ignore[no-untyped-def]
    outcome = message_deliver(organization_id=organization_id, message_id=message_id)
    if outcome.retry_in is not None:
        raise self.retry(countdown=outcome.retry_in)
    return outcome.status
