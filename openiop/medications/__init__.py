"""Medications and medication-assisted treatment (issue 5): the catalogue, orders and injections."""
