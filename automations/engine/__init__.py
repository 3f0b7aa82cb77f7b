"""The workflow engine: the outbox receivers (``events``), the evaluation context
(``context``), the condition and action registries (``registry``), the evaluator
(``evaluate``: one event, one workflow) and the drain (``batch``: all of an organization's
waiting events in batches, one task). Everything runs in a Celery worker, never in the web
request."""
