"""Run a periodic job once, synchronously, and print what it did: `runjob --list`, `runjob NAME`."""

import json
from typing import Any

from celery import current_app
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser


class Command(BaseCommand):
    help = "Run one of the periodic jobs of the beat schedule now, in this process."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("name", nargs="?", help="job name (see --list)")
        parser.add_argument("--list", action="store_true", help="list the jobs and their schedules")

    def handle(self, *args: Any, **options: Any) -> None:
        jobs: dict[str, dict[str, Any]] = settings.CELERY_BEAT_SCHEDULE
        if options["list"] or not options["name"]:
            for name, job in sorted(jobs.items()):
                self.stdout.write(f"{name:<28} {job['task']:<40} {job['schedule']}")
            return
        name = options["name"]
        if name not in jobs:
            raise CommandError(f"Unknown job {name!r}. Known: {', '.join(sorted(jobs))}")
        # The project's Celery app (the one the worker runs), without importing the top-level config package.
        current_app.loader.import_default_modules()
        result = current_app.tasks[jobs[name]["task"]].apply(throw=True)
        self.stdout.write(f"{name}: {json.dumps(result.get(), default=str)}")
