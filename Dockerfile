# Production image: one image for the web (ASGI: HTTP + websockets), the Celery worker and beat.
FROM python:3.11-slim AS base

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /app
RUN useradd --create-home --uid 10001 helpdesk \
    && mkdir -p /app/staticfiles /app/media /var/lib/helpdesk \
    && chown -R helpdesk /app /var/lib/helpdesk

COPY pyproject.toml constraints.txt README.md ./
RUN python -m pip install -c constraints.txt -e .

COPY --chown=helpdesk . .
# Static files and translations are built into the image; they need no database.
RUN DEBUG=false SECRET_KEY=build-only python manage.py collectstatic --noinput \
    && DEBUG=false SECRET_KEY=build-only python manage.py compile_translations

USER helpdesk
EXPOSE 8000
CMD ["python", "manage.py", "serve", "--host", "0.0.0.0", "--port", "8000", "--workers", "2"]
