from django.contrib.auth.management import create_permissions
from django.db import migrations

EDITORS = "Editors"
# Editors answer readers' corrections; they never file one themselves.
CORRECTION_PERMISSIONS = ["view_correction", "change_correction", "delete_correction"]


def give_editors_corrections(apps, schema_editor):
    app_config = apps.get_app_config("articles")
    app_config.models_module = True
    create_permissions(app_config, apps=apps, verbosity=0)
    app_config.models_module = None

    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    group, _ = Group.objects.get_or_create(name=EDITORS)
    group.permissions.add(
        *Permission.objects.filter(
            content_type__app_label="articles", codename__in=CORRECTION_PERMISSIONS
        )
    )


def take_corrections_from_editors(apps, schema_editor):
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    group = Group.objects.filter(name=EDITORS).first()
    if group is not None:
        group.permissions.remove(
            *Permission.objects.filter(
                content_type__app_label="articles", codename__in=CORRECTION_PERMISSIONS
            )
        )


class Migration(migrations.Migration):
    dependencies = [
        ("articles", "0003_aliases_and_corrections"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [migrations.RunPython(give_editors_corrections, take_corrections_from_editors)]
