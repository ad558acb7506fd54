"""Drug screening (issue 5). So far the pure cores — the analyte catalogue, specimen validity,
result interpretation and random selection — which take plain data and return plain data;
the models, screens and API that use them come next (DESIGN.md §4)."""
