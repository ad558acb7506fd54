"""PDF documents issued from a patient's record (issue 4 point 8).

Each builder turns records (loaded by the caller) into PDF bytes laid out by ``layout``:
letterhead, patient identification, "page X of Y", the generation time in the site's time
zone, and the 42 CFR Part 2 notice against redisclosure on every page. Issuing one, which
also writes the disclosure log, is ``openiop.clinical.disclosures.issue_document``.
"""
