"""Pages: numbered for short lists, cursors for the long and growing ones (runs, issues)."""

from rest_framework.pagination import CursorPagination, PageNumberPagination


class PagePagination(PageNumberPagination):
    page_size = 100
    page_size_query_param = "page_size"
    max_page_size = 1000


class RunCursorPagination(CursorPagination):
    """Newest first; a cursor stays right while new runs are added."""

    ordering = ("-created_at", "-id")
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 500


class IssueCursorPagination(CursorPagination):
    """In the order the run found them (the CSV's order too)."""

    ordering = ("id",)
    page_size = 100
    page_size_query_param = "page_size"
    max_page_size = 1000
