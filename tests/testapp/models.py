from django.db import models


class Effect(models.Model):
    """What a test subscriber did: one row per handled event (duplicates show up as extra rows)."""

    subscriber = models.CharField(max_length=100)
    event_id = models.BigIntegerField()
    topic = models.CharField(max_length=100)
    aggregate_id = models.CharField(max_length=64, blank=True, default="")
    seq = models.IntegerField(null=True)
    correlation_id = models.CharField(max_length=64, blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return f"{self.subscriber} {self.topic} #{self.event_id}"
