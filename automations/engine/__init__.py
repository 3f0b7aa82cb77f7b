"""The workflow engine: the outbox receivers (``events``), the evaluation context
(``context``), the condition and action registries (``registry``) and the evaluator
(``evaluate``). Everything runs in a Celery worker, never in the web request."""
