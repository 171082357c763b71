"""Portal pages of leads and privacy; included by portal/urls.py (namespace `portal`)."""

from django.urls import path

from leads import views

urlpatterns = [
    path("leads/", views.leads_page, name="leads"),
    path("leads/export.csv", views.leads_export, name="leads_export"),
    path("leads/<str:lead_id>/status/", views.lead_status_change, name="lead_status"),
    path("settings/privacy/", views.privacy_page, name="privacy"),
]
