"""Staff admin for tenants: filters, search, and lifecycle actions that go through the services."""

from __future__ import annotations

from collections.abc import Callable

from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.contrib.admin.widgets import AdminSplitDateTime
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse

from audit.services import Actor
from billing.selectors import subscription_of_tenant
from billing.subscriptions import subscription_extend_trial
from config.errors import ApplicationError
from tenants.models import Domain, Tenant
from tenants.services import (
    BILLING_OWNED_FIELDS,
    tenant_cancel,
    tenant_purge,
    tenant_reactivate,
    tenant_request_deletion,
    tenant_restore,
    tenant_suspend,
    tenant_update_details,
)


class DomainInline(admin.TabularInline):
    model = Domain
    extra = 0
    fields = ("domain", "is_primary", "created_at")
    readonly_fields = ("created_at",)


class DeletionRequestedFilter(admin.SimpleListFilter):
    title = "deletion"
    parameter_name = "deletion"

    def lookups(self, request, model_admin):  # type: ignore[no-untyped-def]
        return (("live", "Live"), ("scheduled", "Scheduled for deletion"))

    def queryset(self, request, queryset):  # type: ignore[no-untyped-def]
        if self.value() == "live":
            return queryset.filter(deletion_requested_at__isnull=True)
        if self.value() == "scheduled":
            return queryset.filter(deletion_requested_at__isnull=False)
        return queryset


class ExtendTrialForm(forms.Form):
    until = forms.SplitDateTimeField(label="New trial end (UTC)", widget=AdminSplitDateTime)


class DeletionForm(forms.Form):
    confirm_slug = forms.CharField(label="Type the tenant's slug to confirm")
    grace_days = forms.IntegerField(min_value=0, label="Grace period (days) before the schema is dropped")


def _apply_each(
    request: HttpRequest, queryset: QuerySet[Tenant], service: Callable[[Tenant, Actor], object], verb: str
) -> None:
    """Run a lifecycle service on each selected tenant; one error message per refusal, one summary."""
    actor = Actor.for_staff(request.user)
    done = 0
    for tenant in queryset:
        try:
            service(tenant, actor)
            done += 1
        except ApplicationError as error:
            messages.error(request, f"{tenant.slug}: {error.detail}")
    if done:
        messages.success(request, f"{verb.capitalize()} {done} tenant(s).")


def _with_reason(service: Callable[..., object], verb: str) -> Callable[[Tenant, Actor], object]:
    return lambda tenant, actor: service(tenant=tenant, actor=actor, reason=f"{verb} by staff in admin")


@admin.register(Tenant)
class TenantAdmin(admin.ModelAdmin):
    list_display = ("name", "slug", "status", "plan", "trial_ends_at", "deletion_requested_at", "created_at")
    list_filter = ("status", "plan", DeletionRequestedFilter, "created_at")
    search_fields = ("name", "slug", "schema_name", "domains__domain", "billing_email")
    inlines = [DomainInline]
    readonly_fields = ("schema_name", "status", "deletion_requested_at", "purge_after", "created_at", "updated_at")
    fields = (
        "name",
        "slug",
        "schema_name",
        "status",
        "plan",
        "trial_ends_at",
        "locale",
        "timezone",
        "currency",
        "industry",
        "billing_email",
        "api_rate_limit_per_minute",
        "api_rate_limit_burst",
        "deletion_requested_at",
        "purge_after",
        "created_at",
        "updated_at",
    )
    actions = ["suspend", "reactivate", "cancel", "extend_trial", "request_deletion", "restore", "purge"]
    date_hierarchy = "created_at"

    def get_readonly_fields(self, request, obj=None):  # type: ignore[no-untyped-def]
        # The slug names the schema and hostname: fixed once the tenant exists. Plan and trial end
        # follow the subscription once there is one: they change through billing's actions only.
        if obj is None:
            return self.readonly_fields
        if subscription_of_tenant(tenant=obj) is not None:
            return (*self.readonly_fields, "slug", *sorted(BILLING_OWNED_FIELDS))
        return (*self.readonly_fields, "slug")

    def has_add_permission(self, request):  # type: ignore[no-untyped-def]
        return False  # tenants are created by signup or `manage.py provision_tenant`

    def save_model(self, request, obj, form, change):  # type: ignore[no-untyped-def]
        tenant_update_details(tenant=obj, changed_fields=list(form.changed_data), actor=Actor.for_staff(request.user))

    def has_delete_permission(self, request, obj=None):  # type: ignore[no-untyped-def]
        return False  # deletion goes through the confirmed, graced "request deletion" action

    @admin.action(permissions=["change"], description="Suspend selected tenants")
    def suspend(self, request: HttpRequest, queryset: QuerySet[Tenant]) -> None:
        _apply_each(request, queryset, _with_reason(tenant_suspend, "suspended"), "suspended")

    @admin.action(permissions=["change"], description="Reactivate selected tenants")
    def reactivate(self, request: HttpRequest, queryset: QuerySet[Tenant]) -> None:
        _apply_each(request, queryset, _with_reason(tenant_reactivate, "reactivated"), "reactivated")

    @admin.action(permissions=["change"], description="Cancel selected tenants")
    def cancel(self, request: HttpRequest, queryset: QuerySet[Tenant]) -> None:
        _apply_each(request, queryset, _with_reason(tenant_cancel, "cancelled"), "cancelled")

    @admin.action(permissions=["change"], description="Restore selected tenants scheduled for deletion")
    def restore(self, request: HttpRequest, queryset: QuerySet[Tenant]) -> None:
        _apply_each(request, queryset, lambda tenant, actor: tenant_restore(tenant=tenant, actor=actor), "restored")

    @admin.action(permissions=["change"], description="Purge selected tenants now (grace period over only)")
    def purge(self, request: HttpRequest, queryset: QuerySet[Tenant]) -> None:
        """Drops the schemas of tenants whose deletion grace period has ended."""
        _apply_each(request, queryset, lambda tenant, actor: tenant_purge(tenant=tenant, actor=actor), "purged")

    @admin.action(permissions=["change"], description="Extend trial…")
    def extend_trial(self, request: HttpRequest, queryset: QuerySet[Tenant]) -> HttpResponse | None:
        """Asks for the new end date, then calls `billing.subscriptions.subscription_extend_trial`."""
        if queryset.count() != 1:
            messages.error(request, "Extend one tenant's trial at a time.")
            return None
        tenant = queryset.get()
        form = ExtendTrialForm(request.POST if "until_0" in request.POST else None)
        if form.is_bound and form.is_valid():
            try:
                subscription_extend_trial(
                    tenant=tenant, until=form.cleaned_data["until"], actor=Actor.for_staff(request.user)
                )
            except ApplicationError as error:
                form.add_error(None, error.detail)
            else:
                messages.success(
                    request, f"The trial of {tenant.slug} now ends on {tenant.trial_ends_at:%Y-%m-%d %H:%M} UTC."
                )
                return None
        context = {
            **self.admin_site.each_context(request),
            "tenant": tenant,
            "form": form,
            "max_trial_days": settings.MAX_TRIAL_DAYS,
            "opts": self.model._meta,
            "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
        }
        return TemplateResponse(request, "admin/tenants/extend_trial.html", context)

    @admin.action(permissions=["change"], description="Delete selected tenant (after confirmation and grace period)")
    def request_deletion(self, request: HttpRequest, queryset: QuerySet[Tenant]) -> HttpResponse | None:
        if queryset.count() != 1:
            messages.error(request, "Delete one tenant at a time.")
            return None
        tenant = queryset.get()
        form = DeletionForm(
            request.POST if "confirm_slug" in request.POST else None,
            initial={"grace_days": settings.TENANT_DELETION_GRACE_DAYS},
        )
        if form.is_bound and form.is_valid():
            try:
                tenant_request_deletion(
                    tenant=tenant,
                    confirm_slug=form.cleaned_data["confirm_slug"],
                    grace_days=form.cleaned_data["grace_days"],
                    actor=Actor.for_staff(request.user),
                )
            except ApplicationError as error:
                form.add_error(None, error.detail)
            else:
                messages.success(
                    request,
                    f"{tenant.slug} is offline; its schema will be dropped after "
                    f"{tenant.purge_after:%Y-%m-%d %H:%M} UTC.",
                )
                return None
        context = {
            **self.admin_site.each_context(request),
            "tenant": tenant,
            "form": form,
            "opts": self.model._meta,
            "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
        }
        return TemplateResponse(request, "admin/tenants/confirm_deletion.html", context)


@admin.register(Domain)
class DomainAdmin(admin.ModelAdmin):
    list_display = ("domain", "tenant", "is_primary", "created_at")
    search_fields = ("domain", "tenant__slug", "tenant__name")
    list_select_related = ("tenant",)
