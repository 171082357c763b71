"""The public site: landing, pricing and self-service signup."""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from accounts.handoff import handoff_token_issue
from audit.services import Actor
from billing.selectors import plan_list_public
from config.client_ip import client_ip
from config.errors import ApplicationError
from portal.errors import form_add_service_error
from portal.forms import SignupForm
from portal.links import tenant_url
from portal.throttle import attempt_allowed
from tenants.services import tenant_provision, tenant_validate_new_slug


def landing(request: HttpRequest) -> HttpResponse:
    return render(request, "portal/public/landing.html", {"plans": plan_list_public()})


def pricing(request: HttpRequest) -> HttpResponse:
    return render(request, "portal/public/pricing.html", {"plans": plan_list_public()})


def _signup_allowed(request: HttpRequest) -> bool:
    ident = client_ip(request) or "unknown"
    return attempt_allowed(scope="signup", ident=ident, limit=settings.SIGNUP_RATE_LIMIT_PER_HOUR, window_seconds=3600)


@require_http_methods(["GET", "POST"])
def signup(request: HttpRequest) -> HttpResponse:
    """Create a trialing tenant and hand the new owner, signed in, to their portal."""
    # Bound on every POST, even an empty one, so missing fields are reported (400), not ignored.
    form = SignupForm(
        request.POST if request.method == "POST" else None,
        initial={"plan": request.GET.get("plan")} if request.GET.get("plan") else None,
    )
    if request.method == "POST" and form.is_valid():
        if not _signup_allowed(request):
            form.add_error(None, "Too many signups from your network. Please try again in an hour.")
            return render(request, "portal/public/signup.html", {"form": form}, status=429)
        data = form.cleaned_data
        try:
            provisioned = tenant_provision(
                slug=data["slug"],
                name=data["company_name"],
                owner_email=data["email"],
                owner_password=data["password"],
                plan_code=data["plan"],
                actor=Actor.system("signup"),
                owner_email_verified=False,
            )
        except ApplicationError as error:
            form_add_service_error(form, error)
        else:
            token = handoff_token_issue(schema_name=provisioned.tenant.schema_name, user_id=provisioned.owner.pk)
            return redirect(
                tenant_url(domain=provisioned.domain.domain, path=f"/accounts/handoff/?token={token}", request=request)
            )
    status = 400 if form.is_bound and form.errors else 200
    return render(request, "portal/public/signup.html", {"form": form}, status=status)


def signup_slug_check(request: HttpRequest) -> HttpResponse:
    """htmx fragment under the address field: is this workspace address usable?"""
    slug = request.GET.get("slug", "").strip().lower()
    problem = ""
    if slug:
        try:
            tenant_validate_new_slug(slug)
        except ApplicationError as error:
            problem = error.detail
    context = {"slug": slug, "problem": problem, "platform_domain": settings.PLATFORM_DOMAIN}
    return render(request, "portal/public/_slug_check.html", context)
