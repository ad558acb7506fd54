"""URLs of medication orders and administrations (filled in by its owner)."""

urlpatterns: list = []
