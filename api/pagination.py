from rest_framework.pagination import CursorPagination


class CreatedCursorPagination(CursorPagination):
    """`{"results": [...], "next": url|null, "previous": url|null}`, newest first.

    Cursor pagination keeps pages stable while rows are added and costs the same on page 1000.
    """

    page_size = 50
    page_size_query_param = "limit"
    max_page_size = 200
    ordering = ("-created_at", "-pk")
