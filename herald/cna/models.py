"""CVE ids this CNA reserved at CVE Services through Herald.

Which advisory uses an id is the advisory's fact (its vulnerabilities' ``cve_id``);
what CVE Services did with a record is on the ``Delivery`` rows that sent it
(``herald.notify``). This table holds only what the reservation answered.
"""

from __future__ import annotations

from django.db import models


class CveId(models.Model):
    class State(models.TextChoices):
        RESERVED = "RESERVED", "Reserved"
        PUBLISHED = "PUBLISHED", "Published"
        REJECTED = "REJECTED", "Rejected"

    cve_id = models.CharField(max_length=40, unique=True)
    year = models.PositiveSmallIntegerField()
    owning_cna = models.CharField(max_length=64, help_text="The organisation that owns it.")
    state = models.CharField(
        max_length=16, choices=State.choices, help_text="As CVE Services last said."
    )
    reserved_at = models.DateTimeField()
    reserved_by = models.CharField(max_length=200, help_text="The desk account that asked.")

    class Meta:
        ordering = ["-year", "cve_id"]
        verbose_name = "CVE id"

    def __str__(self) -> str:
        return self.cve_id
