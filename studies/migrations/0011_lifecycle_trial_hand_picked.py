from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ("studies", "0010_study_oom_bounds"),
    ]

    operations = [
        migrations.AddField(
            model_name="trial",
            name="hand_picked",
            field=models.BooleanField(default=False),
        ),
    ]
