"""URLs of screens: collection, results, review (filled in by its owner)."""

urlpatterns: list = []
