"""Included by config/urls_tenant.py at the site root."""

from django.urls import path

from widget.views import widget_script

urlpatterns = [path("widget.js", widget_script, name="widget-script")]
