"""Rules for tenant slugs (the subdomain) and the schema name derived from them."""

from __future__ import annotations

import re

SLUG_PATTERN = re.compile(r"^[a-z0-9](?:[a-z0-9-]{1,38})[a-z0-9]$")
SLUG_MIN_LENGTH = 3
SLUG_MAX_LENGTH = 40

# Hostnames we use ourselves or that would confuse customers and phishing filters.
RESERVED_SLUGS = frozenset(
    {
        "www",
        "api",
        "admin",
        "static",
        "media",
        "public",
        "template",
        "tenant-template",
        "mail",
        "email",
        "smtp",
        "imap",
        "pop",
        "ftp",
        "app",
        "apps",
        "portal",
        "dashboard",
        "console",
        "staff",
        "support",
        "help",
        "docs",
        "status",
        "blog",
        "billing",
        "pay",
        "payments",
        "signup",
        "login",
        "auth",
        "sso",
        "account",
        "accounts",
        "webhooks",
        "cdn",
        "assets",
        "dev",
        "staging",
        "test",
        "demo",
        "agentry",
        "root",
        "system",
        "internal",
        "localhost",
    }
)


def slug_problems(slug: str) -> list[str]:
    """Every reason `slug` is not acceptable (format and reservation; not uniqueness)."""
    if not SLUG_MIN_LENGTH <= len(slug) <= SLUG_MAX_LENGTH:
        return [f"Must be between {SLUG_MIN_LENGTH} and {SLUG_MAX_LENGTH} characters long."]
    # fullmatch: with match(), "$" would also accept a trailing newline.
    if not SLUG_PATTERN.fullmatch(slug) or "--" in slug:
        return ["Use lowercase letters, digits and single hyphens; start and end with a letter or digit."]
    if slug in RESERVED_SLUGS:
        return [f"“{slug}” is reserved. Please choose another address."]
    return []


def schema_name_for(slug: str) -> str:
    """PostgreSQL schema for a slug: prefixed (slugs may start with a digit) and hyphen-free."""
    return "t_" + slug.replace("-", "_")
