# syntax=docker/dockerfile:1
# One image for web (gunicorn), worker and beat (celery). See docker-compose.yml.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    DJANGO_SETTINGS_MODULE=config.settings \
    DJANGO_ENV=production

RUN groupadd --system --gid 10001 app \
 && useradd --system --uid 10001 --gid app --home-dir /app --no-create-home --shell /usr/sbin/nologin app

WORKDIR /app

# Dependencies first so the layer is cached across source changes; hashes are checked.
COPY requirements.lock ./
RUN pip install --require-hashes -r requirements.lock

COPY . .
RUN chmod 0755 /app/docker/entrypoint.sh

# Production settings refuse the default secret and empty allowed hosts, so collectstatic gets
# throwaway values that exist only for this RUN line (not baked into the image's environment).
RUN DJANGO_SECRET_KEY=build-only-not-secret-q7Xv2mR9tLk4Wz8pN3sHc6YdJ1fBa5Ge0uTo \
    DJANGO_ALLOWED_HOSTS=localhost \
    DJANGO_DEBUG=false \
    python manage.py collectstatic --noinput

# FHIR Bulk Data export files (FHIR_EXPORT_DIR, a volume shared by web and worker in docker-compose.yml): the one
# directory the runtime user writes.
RUN mkdir -p /data/fhir-exports && chown app:app /data/fhir-exports && chmod 0700 /data/fhir-exports

# Source and collected static files stay root-owned (read-only for the runtime user).
USER app

EXPOSE 8000

ENTRYPOINT ["/app/docker/entrypoint.sh"]
CMD ["web"]
