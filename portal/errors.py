"""Turning service errors into form errors and flash messages for server-rendered pages."""

from django import forms
from django.contrib import messages
from django.http import HttpRequest

from config.errors import ApplicationError, ValidationFailed


def form_add_service_error(form: forms.Form, error: ApplicationError) -> None:
    if isinstance(error, ValidationFailed) and error.errors:
        for field, problems in error.errors.items():
            target = field if field in form.fields else None
            for problem in problems:
                form.add_error(target, problem)
    else:
        form.add_error(None, error.detail)


def message_service_error(request: HttpRequest, error: ApplicationError) -> None:
    messages.error(request, error.detail)
