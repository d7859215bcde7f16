from collections.abc import Sequence
from typing import Any

from django.db.models import QuerySet
from rest_framework import serializers
from rest_framework.pagination import PageNumberPagination
from rest_framework.request import Request
from rest_framework.response import Response


class PagePagination(PageNumberPagination):
    """`?page=` and `?page_size=` (1 to 200). A page size that is not a whole number in that range (`null`, empty,
    0, 201) is a 400 naming `page_size`, as the schema says, instead of silently becoming the default or the cap."""

    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 200

    def get_page_size(self, request: Request) -> int:
        text = request.query_params.get(self.page_size_query_param)
        if text is None:
            return self.page_size
        if not (text.isascii() and text.isdigit()) or not 1 <= int(text) <= self.max_page_size:
            raise serializers.ValidationError(
                {self.page_size_query_param: [f"A whole number from 1 to {self.max_page_size}."]}
            )
        return int(text)

    def get_schema_operation_parameters(self, view: Any) -> list[dict[str, Any]]:
        parameters: list[dict[str, Any]] = super().get_schema_operation_parameters(view)
        for parameter in parameters:
            if parameter["name"] == self.page_query_param:
                parameter["schema"]["minimum"] = 1
            elif parameter["name"] == self.page_size_query_param:
                parameter["schema"].update({"minimum": 1, "maximum": self.max_page_size})
        return parameters


class PaginatedListMixin:
    """For APIViews with list endpoints: declaring `pagination_class` also documents the page envelope and the
    `page`/`page_size` parameters in the schema."""

    pagination_class = PagePagination

    def paginate(self, request: Request, rows: QuerySet[Any] | Sequence[Any]) -> tuple[PagePagination, Sequence[Any]]:
        paginator = self.pagination_class()
        page = paginator.paginate_queryset(rows, request, view=self)  # type: ignore[arg-type]
        return paginator, page or []

    def paginated_response(self, request: Request, rows: QuerySet[Any], serializer: Any) -> Response:
        paginator, page = self.paginate(request, rows)
        return paginator.get_paginated_response(serializer(page, many=True).data)
