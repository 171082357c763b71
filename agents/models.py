"""Agents, teams and delegation live here (tenant schema). Filled in by the Agents capability."""
