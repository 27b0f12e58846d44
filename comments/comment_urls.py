from django.urls import path

from . import comment_views

urlpatterns = [
    path("articles/<slug:slug>/comments/", comment_views.comment_list, name="list"),
    path("articles/<slug:slug>/comments/more/", comment_views.comment_more, name="more"),
    path("articles/<slug:slug>/comments/new/", comment_views.comment_new_count, name="new"),
    path("articles/<slug:slug>/comments/post/", comment_views.comment_create, name="create"),
    path("comments/<int:pk>/", comment_views.comment_permalink, name="permalink"),
    path("comments/<int:pk>/reply/", comment_views.comment_reply, name="reply"),
    path("comments/<int:pk>/edit/", comment_views.comment_edit, name="edit"),
    path("comments/<int:pk>/delete/", comment_views.comment_delete, name="delete"),
    path("comments/<int:pk>/stance/", comment_views.comment_stance, name="stance"),
    path("comments/<int:pk>/helpful/", comment_views.comment_helpful, name="helpful"),
    path("comments/<int:pk>/report/", comment_views.comment_report, name="report"),
]
