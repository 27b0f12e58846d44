from django.db import migrations

MODERATORS = "Moderators"
# Comment moderation only: never users, articles or polls.
MODERATOR_PERMISSIONS = {
    "comment": ["view", "change"],
    "commentreport": ["view", "change", "delete"],
    "bannedword": ["view", "add", "change", "delete"],
    "readercontrol": ["view", "change"],
}
VERBOSE_NAMES = {
    "comment": "comment",
    "commentreport": "comment report",
    "bannedword": "banned word",
    "readercontrol": "reader control",
}


def create_moderators_group(apps, schema_editor):
    # On a fresh database permissions only appear after migrate (post_migrate), so make the
    # ones the group needs here; post_migrate then finds them and leaves them alone.
    ContentType = apps.get_model("contenttypes", "ContentType")
    Permission = apps.get_model("auth", "Permission")
    Group = apps.get_model("auth", "Group")

    permissions = []
    for model, actions in MODERATOR_PERMISSIONS.items():
        content_type, _ = ContentType.objects.get_or_create(app_label="comments", model=model)
        for action in actions:
            permission, _ = Permission.objects.get_or_create(
                content_type=content_type,
                codename=f"{action}_{model}",
                defaults={"name": f"Can {action} {VERBOSE_NAMES[model]}"},
            )
            permissions.append(permission)

    group, _ = Group.objects.get_or_create(name=MODERATORS)
    group.permissions.set(permissions)


def remove_moderators_group(apps, schema_editor):
    apps.get_model("auth", "Group").objects.filter(name=MODERATORS).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("comments", "0001_initial"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [migrations.RunPython(create_moderators_group, remove_moderators_group)]
