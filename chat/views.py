from django.http import HttpResponse
from django.shortcuts import render

from helpdesk.views.base import TenantRequest


def chat_console(request: TenantRequest) -> HttpResponse:
    return render(request, "chat/index.html", {})
