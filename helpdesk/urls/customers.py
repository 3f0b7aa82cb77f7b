"""``/app/<org>/customers/…``"""

from django.urls import URLPattern, path

from helpdesk.views import customers

urlpatterns: list[URLPattern] = [
    path("", customers.customer_list_view, name="customer-list"),
    path("new/", customers.customer_create, name="customer-create"),
    path("<int:customer_id>/", customers.customer_detail, name="customer-detail"),
    path("<int:customer_id>/edit/", customers.customer_edit, name="customer-edit"),
    path("<int:customer_id>/delete/", customers.customer_delete, name="customer-delete"),
]
