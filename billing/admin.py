from django.contrib import admin

from billing.models import Plan


@admin.register(Plan)
class PlanAdmin(admin.ModelAdmin):
    list_display = ("name", "code", "monthly_price", "sla", "is_public", "sort_order")
    list_editable = ("is_public", "sort_order")
    search_fields = ("name", "code")
