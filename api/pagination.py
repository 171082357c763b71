from typing import Any

from rest_framework.pagination import CursorPagination


class CreatedCursorPagination(CursorPagination):
    """`{"results": [...], "next": url|null, "previous": url|null}`, newest first.

    Cursor pagination keeps pages stable while rows are added and costs the same on page 1000.
    """

    page_size = 50
    page_size_query_param = "limit"
    max_page_size = 200
    ordering = ("-created_at", "-pk")

    def get_paginated_response_schema(self, schema: dict[str, Any]) -> dict[str, Any]:
        """For the OpenAPI document (DRF's own has example.org URLs and a stray quote)."""
        next_url = f"https://acme.agentry.example.com/api/v1/...?{self.cursor_query_param}=cD0yMDI2LTAz"
        return {
            "type": "object",
            "required": ["next", "previous", "results"],
            "properties": {
                "next": {
                    "type": "string",
                    "format": "uri",
                    "nullable": True,
                    "example": next_url,
                    "description": "The next (older) page: this URL with another cursor. Null on the last page.",
                },
                "previous": {
                    "type": "string",
                    "format": "uri",
                    "nullable": True,
                    "example": None,
                    "description": "The previous (newer) page. Null on the first page.",
                },
                "results": schema,
            },
        }
