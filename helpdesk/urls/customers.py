from django.urls import URLPattern, path

from helpdesk.views import tenancy

# Placeholder until the customer screens land.
urlpatterns: list[URLPattern] = [path("", tenancy.dashboard, name="customer-list")]
