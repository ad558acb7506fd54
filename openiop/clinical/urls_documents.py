"""URLs of documents (filled in by its owner)."""

urlpatterns: list = []
