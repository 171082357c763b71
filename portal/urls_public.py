from django.urls import path

from portal.views import public

app_name = "public"

urlpatterns = [
    path("", public.landing, name="landing"),
    path("pricing/", public.pricing, name="pricing"),
    path("signup/", public.signup, name="signup"),
    path("signup/check-slug/", public.signup_slug_check, name="signup_slug_check"),
]
