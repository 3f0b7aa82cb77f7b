"""``/app/<org>/manage/custom-fields/…`` (managers and admins)."""

from django.urls import URLPattern, path

from helpdesk.views import custom_fields

urlpatterns: list[URLPattern] = [
    path("", custom_fields.custom_field_list_view, name="custom-field-list"),
    path("new/", custom_fields.custom_field_create, name="custom-field-create"),
    path("<int:field_id>/edit/", custom_fields.custom_field_edit, name="custom-field-edit"),
    path("<int:field_id>/delete/", custom_fields.custom_field_delete, name="custom-field-delete"),
]
