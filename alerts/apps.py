from django.apps import AppConfig


class AlertsConfig(AppConfig):
    name = "alerts"
    verbose_name = "Usage alerts"

    def ready(self) -> None:
        from alerts import checks  # noqa: F401  (registers the system check)
