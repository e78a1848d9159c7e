from django.apps import AppConfig


class WebConfig(AppConfig):
    """The pages district and school admins use: sign-in, the sync tab, runs and help."""

    default_auto_field = "django.db.models.BigAutoField"
    name = "web"
    verbose_name = "Pages"
