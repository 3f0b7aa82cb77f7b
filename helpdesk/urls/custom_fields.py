from django.urls import URLPattern, path

from helpdesk.views import tenancy

# Placeholder until the custom field screens land.
urlpatterns: list[URLPattern] = [path("", tenancy.manage_index, name="custom-field-list")]
