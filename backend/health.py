"""Liveness for load balancers and compose healthchecks: the process answers and the database does too."""

from typing import Any

from django.db import connection
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView


class HealthView(APIView):
    authentication_classes = []
    permission_classes = [AllowAny]

    class Output(serializers.Serializer[Any]):
        status = serializers.CharField()
        database = serializers.BooleanField()

    @extend_schema(responses={200: Output, 503: Output}, summary="Health check", auth=[])
    def get(self, request: Request) -> Response:
        try:
            with connection.cursor() as cursor:
                cursor.execute("SELECT 1")
            database = True
        except Exception:  # any database failure means "unhealthy", not a crash
            database = False
        return Response(
            {"status": "ok" if database else "degraded", "database": database}, status=200 if database else 503
        )
