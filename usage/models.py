"""Usage metering, quotas and alerts per tenant. Filled in by the Usage capability."""
