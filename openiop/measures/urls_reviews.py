"""URLs of level reviews: the review page and its two decisions."""

from django.urls import path

from openiop.measures import views_reviews as views

urlpatterns = [
    path("reviews/<int:review_id>/", views.review_detail_view, name="review-detail"),
    path("reviews/<int:review_id>/accept/", views.review_accept_view, name="review-accept"),
    path("reviews/<int:review_id>/dismiss/", views.review_dismiss_view, name="review-dismiss"),
]
