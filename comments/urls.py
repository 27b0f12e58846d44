from django.urls import include, path

from . import views

app_name = "comments"

urlpatterns = [
    path("articles/<slug:slug>/comments/", views.comment_list, name="list"),
    path("articles/<slug:slug>/comments/more/", views.comment_more, name="more"),
    path("articles/<slug:slug>/comments/new/", views.comment_new_count, name="new"),
    path("articles/<slug:slug>/comments/post/", views.comment_create, name="create"),
    path("articles/<slug:slug>/comments/anchor/", views.comment_anchor, name="anchor"),
    path("comments/<int:pk>/", views.comment_permalink, name="permalink"),
    path("comments/<int:pk>/reply/", views.comment_reply, name="reply"),
    path("comments/<int:pk>/edit/", views.comment_edit, name="edit"),
    path("comments/<int:pk>/delete/", views.comment_delete, name="delete"),
    path("comments/<int:pk>/stance/", views.comment_stance, name="stance"),
    path("comments/<int:pk>/helpful/", views.comment_helpful, name="helpful"),
    path("comments/<int:pk>/report/", views.comment_report, name="report"),
    # The poll's URL names stay in this namespace ("comments:poll_vote"...).
    path("", include("comments.polls.urls")),
]
