from django.http import HttpResponse
from django.shortcuts import render

from helpdesk.views.base import TenantRequest


def call_list(request: TenantRequest) -> HttpResponse:
    return render(request, "telephony/index.html", {})
