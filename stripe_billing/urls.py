from django.urls import path

from stripe_billing.views import stripe_webhook

app_name = "stripe_billing"

urlpatterns = [
    path("webhook/", stripe_webhook, name="webhook"),
]
