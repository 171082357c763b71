"""Portal pages of the widget; included by portal/urls.py (namespace `portal`)."""

from django.urls import path

from widget import portal_views

urlpatterns = [path("settings/api-keys/widget/", portal_views.widget_key_page, name="widget_key_new")]
