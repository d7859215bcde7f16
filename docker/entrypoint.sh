#!/bin/sh
# "web" (the default): apply migrations, then serve with gunicorn on 0.0.0.0:8000.
# Anything else is executed as given (e.g. `celery -A config worker -l info`).
set -eu

if [ "${1:-web}" = "web" ]; then
    [ "$#" -gt 0 ] && shift
    python manage.py migrate --noinput
    exec gunicorn config.wsgi:application \
        --bind 0.0.0.0:8000 \
        --workers "${WEB_CONCURRENCY:-3}" \
        --timeout "${GUNICORN_TIMEOUT:-60}" \
        --worker-tmp-dir /dev/shm \
        --access-logfile - \
        "$@"
fi

exec "$@"
