"""Generated reports and pipeline snapshots."""
from django.db import models


class Report(models.Model):
    """The latest result of one report kind for one company (one row, locked while generated)."""

    class Kind(models.TextChoices):
        PIPELINE = "pipeline"
        HIRING = "hiring"
        ACTIVITY = "activity"

    company = models.ForeignKey("accounts.Company", on_delete=models.CASCADE, related_name="reports")
    kind = models.CharField(max_length=20, choices=Kind.choices)
    data = models.JSONField(default=dict)
    generated_at = models.DateTimeField(null=True, blank=True)
    period_start = models.DateTimeField(null=True, blank=True)
    period_end = models.DateTimeField(null=True, blank=True)
    version = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["company", "kind"], name="unique_report_kind")]
        ordering = ["kind"]


class ReportRun(models.Model):
    class Status(models.TextChoices):
        RUNNING = "running"
        DONE = "done"
        FAILED = "failed"

    company = models.ForeignKey("accounts.Company", on_delete=models.CASCADE, related_name="report_runs")
    kind = models.CharField(max_length=20)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.RUNNING)
    error = models.TextField(blank=True)
    started_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)


class PipelineSnapshot(models.Model):
    """Applications of a job at one instant: their count and ids must agree."""

    job = models.ForeignKey("jobs.Job", on_delete=models.CASCADE, related_name="snapshots")
    application_count = models.PositiveIntegerField()
    application_ids = models.JSONField(default=list)
    by_status = models.JSONField(default=dict)
    created_at = models.DateTimeField(auto_now_add=True)
