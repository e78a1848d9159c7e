from django.apps import AppConfig


class ApiConfig(AppConfig):
    name = "api"
    verbose_name = "REST API"

    def ready(self) -> None:
        # drf-spectacular finds the bearer scheme through this extension.
        from api import schema  # noqa: F401
