from django.contrib.admin.apps import AdminConfig


class AgentryAdminConfig(AdminConfig):
    default_site = "config.admin_site.AgentryAdminSite"
