"""Included by api/urls.py under /api/v1/."""

from django.urls import path

from leads.apis import LeadDetailApi, LeadListApi

urlpatterns = [
    path("leads", LeadListApi.as_view(), name="leads"),
    path("leads/<str:lead_id>", LeadDetailApi.as_view(), name="lead"),
]
