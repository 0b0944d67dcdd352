from django.apps import AppConfig


class GithubConfig(AppConfig):
    name = "herald.github"
    label = "github"
    verbose_name = "GitHub"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # The outbox's ``github`` kind: notify knows no GitHub, so the plug-in
        # registers itself with the delivery engine (herald.notify.channels.register).
        from herald.github import channel
        from herald.notify.channels import register

        register(channel.GitHubKind())
