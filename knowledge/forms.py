"""Portal forms of the knowledge pages (the services validate again; these shape the input)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.conf import settings
from django.template.defaultfilters import filesizeformat

from knowledge.languages import KnowledgeLanguage
from knowledge.models import DocumentSource
from knowledge.services import ACCEPTED_EXTENSIONS

_INHERIT = [("", "Same as the knowledge base")]


# Prefixes keep field ids unique on the knowledge base page, which shows several forms.
class KnowledgeBaseForm(forms.Form):
    prefix = "kb"
    name = forms.CharField(max_length=120)
    description = forms.CharField(max_length=2000, required=False, widget=forms.Textarea(attrs={"rows": 2}))
    language = forms.ChoiceField(
        choices=KnowledgeLanguage.choices,
        initial=KnowledgeLanguage.ENGLISH,
        help_text="Used for stemming and stop words when searching.",
    )


class FaqForm(forms.Form):
    prefix = "faq"
    question = forms.CharField(max_length=500)
    answer = forms.CharField(max_length=10_000, widget=forms.Textarea(attrs={"rows": 3}))
    language = forms.ChoiceField(choices=_INHERIT + list(KnowledgeLanguage.choices), required=False)


class DocumentForm(forms.Form):
    """Either a file or pasted text."""

    prefix = "document"

    file = forms.FileField(
        required=False,
        help_text="",
        widget=forms.ClearableFileInput(attrs={"accept": ",".join(ACCEPTED_EXTENSIONS)}),
    )
    title = forms.CharField(max_length=200, required=False, help_text="Optional for files: the file name is used.")
    text = forms.CharField(required=False, strip=False, label="Or paste text", widget=forms.Textarea(attrs={"rows": 4}))
    format = forms.ChoiceField(
        choices=[
            (DocumentSource.TEXT, "Plain text"),
            (DocumentSource.MARKDOWN, "Markdown"),
            (DocumentSource.HTML, "HTML"),
        ],
        initial=DocumentSource.TEXT,
        required=False,
        label="Pasted text is",
    )
    language = forms.ChoiceField(choices=_INHERIT + list(KnowledgeLanguage.choices), required=False)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        limit = settings.KNOWLEDGE_MAX_UPLOAD_BYTES
        file_field = self.fields["file"]
        file_field.help_text = f"Plain text, Markdown, HTML or PDF, up to {filesizeformat(limit)}."
        file_field.widget.attrs["data-max-bytes"] = str(limit)

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        has_file, has_text = bool(data.get("file")), bool((data.get("text") or "").strip())
        if has_file == has_text:
            raise forms.ValidationError("Choose a file or paste text (one of the two).")
        if has_text and not (data.get("title") or "").strip():
            self.add_error("title", "Give the pasted text a title.")
        return data


class SearchForm(forms.Form):
    q = forms.CharField(max_length=500, label="Try a question", required=False)
