# Indexes for the dashboard at 100,000 trials (issue 13.2): the time model's
# latest trials and the best scores, read by every poll and first load.

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('studies', '0007_token_name_expiry'),
    ]

    operations = [
        migrations.AddIndex(
            model_name='trial',
            index=models.Index(fields=['study', 'started'], name='trial_study_started'),
        ),
        migrations.AddIndex(
            model_name='trial',
            index=models.Index(fields=['study', 'best_score'], name='trial_study_score'),
        ),
    ]
