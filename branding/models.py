"""White-label branding (logo, colours, CSS, language) per tenant. Filled in by the branding work."""
