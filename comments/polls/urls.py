from django.urls import path

from . import views

urlpatterns = [
    path("polls/<int:pk>/", views.poll_detail, name="poll"),
    path("polls/<int:pk>/vote/", views.poll_vote, name="poll_vote"),
    path("polls/<int:pk>/results/", views.poll_results, name="poll_results"),
    path("polls/<int:pk>/results.json", views.poll_results_json, name="poll_results_json"),
]
