#!/bin/sh
# "web" (the default): apply migrations, then serve with gunicorn on 0.0.0.0:8000.
# --limit-request-line 8190 (gunicorn's largest; its default is 4094): a patient list's query string with every
# filter and a long search, URL-encoded, can pass 4 KB; the API then answers it, with a JSON 400 if it is too long,
# rather than gunicorn with an HTML 414 no client expects.
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
        --limit-request-line 8190 \
        --access-logfile - \
        "$@"
fi

exec "$@"
