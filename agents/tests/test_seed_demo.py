"""`seed_demo` gives the demo tenants a small organisation of agents."""

from io import StringIO

from django.core.management import call_command
from django_tenants.utils import schema_context

from agents.selectors import agent_count_active, org_chart
from tenants.selectors import tenant_get


def test_seed_demo_gives_acme_and_globex_agents_in_teams(db):
    call_command("seed_demo", stdout=StringIO())

    with schema_context(tenant_get(slug="acme").schema_name):
        chart = org_chart()
        assert [d.department.name for d in chart.departments] == ["Customer Service", "Sales"]
        assert [a.name for a in chart.departments[0].teams[0].agents] == ["Ava", "Omar", "Support Lead"]
        (lead,) = [node for node in chart.reporting_lines if node.agent.name == "Support Lead"]
        assert sorted(report.agent.name for report in lead.reports) == ["Ava", "Omar"]
        assert agent_count_active() == 3  # Sam is a draft
    with schema_context(tenant_get(slug="globex").schema_name):
        assert [node.agent.name for node in org_chart().reporting_lines] == ["Dispatch Assistant"]
