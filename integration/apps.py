from django.apps import AppConfig
from django.db.models.signals import post_migrate


class IntegrationConfig(AppConfig):
    name = "integration"
    verbose_name = "Integration"

    def ready(self) -> None:
        # The role groups get the permission matrix after every migrate, the way Django itself
        # creates permissions; the receiver acts once, after the last app's permissions exist.
        from integration.roles import ensure_role_groups_after_migrate

        post_migrate.connect(
            ensure_role_groups_after_migrate, dispatch_uid="parity-ensure-role-groups"
        )
