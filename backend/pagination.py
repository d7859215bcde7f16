from collections.abc import Sequence
from typing import Any

from django.db.models import QuerySet
from rest_framework.pagination import PageNumberPagination
from rest_framework.request import Request
from rest_framework.response import Response


class PagePagination(PageNumberPagination):
    """`?page=` and `?page_size=` (at most 200)."""

    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 200


class PaginatedListMixin:
    """For APIViews with list endpoints: declaring `pagination_class` also documents the page envelope and the
    `page`/`page_size` parameters in the schema."""

    pagination_class = PagePagination

    def paginate(self, request: Request, rows: QuerySet[Any]) -> tuple[PagePagination, Sequence[Any]]:
        paginator = self.pagination_class()
        page = paginator.paginate_queryset(rows, request, view=self)  # type: ignore[arg-type]
        return paginator, page or []

    def paginated_response(self, request: Request, rows: QuerySet[Any], serializer: Any) -> Response:
        paginator, page = self.paginate(request, rows)
        return paginator.get_paginated_response(serializer(page, many=True).data)
