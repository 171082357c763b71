from config.celery import app
from tenants.services import tenants_purge_due


@app.task(acks_late=True)
def tenants_purge_due_deletions_task() -> list[str]:
    """Hourly: drop the schemas of tenants whose deletion grace period has ended."""
    return tenants_purge_due()
