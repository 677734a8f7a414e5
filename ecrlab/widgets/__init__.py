"""Widgets are optional views: a form edits a spec, buttons call the same plan/apply a runbook calls."""
