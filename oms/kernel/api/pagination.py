"""Pagination that refuses what its schema forbids: `?page=`, `?page_size=null`, `0` or `9999` answer 400
instead of quietly falling back to the default (DRF's behaviour), and the schema says the bounds."""

from __future__ import annotations

from rest_framework.exceptions import ValidationError
from rest_framework.pagination import CursorPagination, PageNumberPagination


def strict_page_size(request, *, param: str, default: int, maximum: int) -> int:
    raw = request.query_params.get(param)
    if raw is None:
        return default
    if not raw.isascii() or not raw.isdigit() or not 1 <= int(raw) <= maximum:
        raise ValidationError({param: [f"A whole number from 1 to {maximum}."]})
    return int(raw)


def page_size_parameter(*, param: str, default: int, maximum: int) -> dict:
    return {
        "name": param,
        "required": False,
        "in": "query",
        "description": f"Items per page (default {default}, at most {maximum}).",
        "schema": {"type": "integer", "minimum": 1, "maximum": maximum},
    }


class StandardPagination(PageNumberPagination):
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 500

    def get_page_size(self, request):
        return strict_page_size(
            request, param=self.page_size_query_param, default=self.page_size, maximum=self.max_page_size
        )

    def get_page_number(self, request, paginator):
        # DRF reads a blank `?page=` as the first page; the schema says a whole number from 1.
        raw = request.query_params.get(self.page_query_param)
        if raw is None:
            return 1
        if raw == "last":
            return raw
        if not raw.isascii() or not raw.isdigit() or int(raw) < 1:
            raise ValidationError({self.page_query_param: ["A whole number from 1."]})
        return int(raw)

    def get_schema_operation_parameters(self, view):
        return [
            {
                "name": self.page_query_param,
                "required": False,
                "in": "query",
                "description": "A page number within the paginated result set (past the last: 404).",
                "schema": {"type": "integer", "minimum": 1},
            },
            page_size_parameter(
                param=self.page_size_query_param, default=self.page_size, maximum=self.max_page_size
            ),
        ]


class StrictCursorPagination(CursorPagination):
    """Cursor pagination with the same strict `page_size`."""

    page_size_query_param = "page_size"

    def get_page_size(self, request):
        return strict_page_size(
            request, param=self.page_size_query_param, default=self.page_size, maximum=self.max_page_size
        )

    def decode_cursor(self, request):
        raw = request.query_params.get(self.cursor_query_param)
        if raw is not None and not raw.strip():
            raise ValidationError(
                {self.cursor_query_param: ["May not be blank: leave it out for the first page."]}
            )
        return super().decode_cursor(request)
