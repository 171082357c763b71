"""Plan catalog (public schema). Plans are data that staff edit in admin, never constants in code."""

from django.db import models


class Plan(models.Model):
    code = models.SlugField(max_length=32, unique=True)
    name = models.CharField(max_length=64)
    description = models.CharField(max_length=255, blank=True)
    monthly_price_cents = models.PositiveIntegerField(help_text="Price per month in USD cents.")
    # Limits: a missing key or null means unlimited.
    limits = models.JSONField(default=dict, blank=True)
    features = models.JSONField(default=list, blank=True)
    sla = models.CharField(max_length=16, blank=True)
    sort_order = models.PositiveSmallIntegerField(default=0)
    is_public = models.BooleanField(default=True, help_text="Shown on the pricing page and at signup.")

    class Meta:
        ordering = ("sort_order", "monthly_price_cents")

    def __str__(self) -> str:
        return self.name

    @property
    def monthly_price(self) -> float:
        return self.monthly_price_cents / 100
