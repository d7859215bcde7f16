"""Register a backend system (SMART Backend Services) for one organisation with its public JWK Set."""

import json
from pathlib import Path
from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.urls import reverse

from apps.accounts.models import Organisation
from apps.fhir.models import FhirClient, validate_public_jwks


class Command(BaseCommand):
    help = "Register a FHIR backend client for an organisation; prints its client id and the token endpoint."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--organisation", required=True, help="the organisation's id (UUID)")
        parser.add_argument("--jwks-file", required=True, help="a JSON file with the client's PUBLIC JWK Set")
        parser.add_argument("--name", default="", help="a label, e.g. the EHR integration's name")
        parser.add_argument(
            "--allow-write",
            action="store_true",
            help="may request write scopes (system/Observation.write or .c) to import Observations; default read-only",
        )
        parser.add_argument(
            "--base-url", default="https://<this server>", help="printed in front of the token endpoint's path"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            organisation = Organisation.objects.get(pk=options["organisation"])
        except (Organisation.DoesNotExist, ValidationError, ValueError) as exc:
            raise CommandError(f"No organisation with id {options['organisation']!r}.") from exc
        path = Path(options["jwks_file"])
        try:
            jwks = json.loads(path.read_text(encoding="utf-8"))
        except OSError as exc:
            raise CommandError(f"Cannot read {path}: {exc.strerror or exc}") from exc
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise CommandError(f"{path} is not JSON: {exc}") from exc
        try:
            validate_public_jwks(jwks)
        except ValidationError as exc:
            raise CommandError(f"{path}: {' '.join(exc.messages)}") from exc
        client = FhirClient.objects.create(
            organisation=organisation, name=options["name"][:200], jwks=jwks, allow_write=options["allow_write"]
        )
        token_url = options["base_url"].rstrip("/") + reverse("fhir-smart-token")
        self.stdout.write(f"client_id: {client.client_id}")
        self.stdout.write(f"organisation: {organisation.name} ({organisation.pk})")
        self.stdout.write(f"token endpoint: {token_url}")
        self.stdout.write(f"write scopes: {'allowed' if client.allow_write else 'not allowed (read-only)'}")
