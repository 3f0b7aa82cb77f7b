"""Manager screens of the workflow engine: ``/app/<org>/manage/workflows/…``."""
