from django.db import migrations


def backfill(apps, schema_editor):
    Candidate = apps.get_model("candidates", "Candidate")
    for candidate in Candidate.objects.filter(email_normalized="").iterator():
        candidate.email_normalized = (candidate.email or "").strip().lower()
        candidate.save(update_fields=["email_normalized"])


class Migration(migrations.Migration):

    dependencies = [
        ("candidates", "0003_candidate_scores_email_normalized"),
    ]

    operations = [
        migrations.RunPython(backfill, migrations.RunPython.noop),
    ]
