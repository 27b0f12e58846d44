from django.contrib.auth.management import create_permissions
from django.db import migrations

EDITORS = "Editors"
# Content only: articles, their facts and the reader polls. Never users or groups.
EDITOR_MODELS = {
    "articles": ["article", "paragraph", "brand", "platform", "carmodel", "fact"],
    "comments": ["poll", "pollchoice"],
}
ACTIONS = ["add", "change", "delete", "view"]


def create_editors_group(apps, schema_editor):
    for app_label in EDITOR_MODELS:
        app_config = apps.get_app_config(app_label)
        app_config.models_module = True
        create_permissions(app_config, apps=apps, verbosity=0)
        app_config.models_module = None

    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    group, _ = Group.objects.get_or_create(name=EDITORS)
    codenames = [
        f"{action}_{model}" for models in EDITOR_MODELS.values() for model in models for action in ACTIONS
    ]
    permissions = Permission.objects.filter(
        content_type__app_label__in=list(EDITOR_MODELS), codename__in=codenames
    )
    group.permissions.set(permissions)


def remove_editors_group(apps, schema_editor):
    apps.get_model("auth", "Group").objects.filter(name=EDITORS).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("articles", "0001_initial"),
        ("comments", "0001_initial"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [migrations.RunPython(create_editors_group, remove_editors_group)]
