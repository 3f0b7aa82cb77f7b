from django.http import HttpResponse
from django.shortcuts import render

from helpdesk.views.base import TenantRequest


def ticket_list(request: TenantRequest) -> HttpResponse:
    return render(request, "tickets/index.html", {})
