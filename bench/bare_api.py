"""The baseline of benchmark 5 (`api`): the same list, query and serialization as
GET /api/v1/api-keys, served by a bare DRF view without tenancy, authentication, scopes or limits.

Also the URLconf the bare rows are routed with (in process through `BareUrlconfMiddleware`, under
gunicorn as ROOT_URLCONF of `bench.bare_settings`).
"""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse
from django.urls import path
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from api.pagination import CreatedCursorPagination
from apikeys.apis import ApiKeyOutput
from apikeys.models import ApiKey

BARE_URLCONF = "bench.bare_api"


def bare_path(tenant_id: int) -> str:
    return f"/bare/{tenant_id}/api-keys"


class BareApiKeyListApi(APIView):
    """ApiKeyListCreateApi.get without the tenant: the tenant id comes from the URL."""

    authentication_classes: list[type] = []
    permission_classes: list[type] = []
    throttle_classes: list[type] = []
    pagination_class = CreatedCursorPagination

    def get(self, request: Request, tenant_id: int) -> Response:
        keys = ApiKey.objects.filter(tenant_id=tenant_id)
        paginator = self.pagination_class()
        page = paginator.paginate_queryset(keys, request, view=self)
        return paginator.get_paginated_response(ApiKeyOutput(page, many=True).data)


class BareUrlconfMiddleware:
    """In process, the test Client's handler resets the URLconf to ROOT_URLCONF on every request:
    this points the bare rows at the URLconf below instead (a dict lookup's worth of work)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        request.urlconf = BARE_URLCONF  # type: ignore[attr-defined]
        return self.get_response(request)


urlpatterns = [path("bare/<int:tenant_id>/api-keys", BareApiKeyListApi.as_view(), name="bare-api-keys")]
