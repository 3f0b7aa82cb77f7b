"""Workflow screens (managers): ``/app/<org>/manage/workflows/…``."""

from django.urls import URLPattern, URLResolver, path

from automations.views import other, workflows

urlpatterns: list[URLPattern | URLResolver] = [
    path("", workflows.workflow_list_view, name="workflow-list"),
    path("new/", workflows.workflow_create_view, name="workflow-create"),
    path("gallery/", other.gallery_view, name="workflow-gallery"),
    path("gallery/use/", other.gallery_use_view, name="workflow-gallery-use"),
    path("settings/", other.automation_settings_view, name="automation-settings"),
    path("runs/<int:run_id>/", other.run_detail_view, name="workflow-run"),
    path("<int:workflow_id>/", workflows.workflow_edit_view, name="workflow-edit"),
    path("<int:workflow_id>/enabled/", workflows.workflow_enabled_view, name="workflow-enabled"),
    path(
        "<int:workflow_id>/duplicate/",
        workflows.workflow_duplicate_view,
        name="workflow-duplicate",
    ),
    path("<int:workflow_id>/delete/", workflows.workflow_delete_view, name="workflow-delete"),
    path("<int:workflow_id>/runs/", other.run_list_view, name="workflow-runs"),
]
