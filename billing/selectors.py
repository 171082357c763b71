from django.db.models import QuerySet

from billing.models import Plan


def plan_list_public() -> QuerySet[Plan]:
    return Plan.objects.filter(is_public=True)


def plan_get(*, code: str) -> Plan | None:
    return Plan.objects.filter(code=code).first()
