from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ("studies", "0011_study_notes_tags"),
    ]

    operations = [
        migrations.AddField(
            model_name="trial",
            name="hand_picked",
            field=models.BooleanField(default=False),
        ),
    ]
