from django.urls import path

from . import poll_views

urlpatterns = [
    path("polls/<int:pk>/", poll_views.poll_detail, name="poll"),
    path("polls/<int:pk>/vote/", poll_views.poll_vote_view, name="poll_vote"),
    path("polls/<int:pk>/results/", poll_views.poll_results, name="poll_results"),
    path("polls/<int:pk>/results.json", poll_views.poll_results_json, name="poll_results_json"),
]
