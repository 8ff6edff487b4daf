from django.apps import AppConfig


class DirectoryConfig(AppConfig):
    name = "knotwork.directory"
    label = "directory"
