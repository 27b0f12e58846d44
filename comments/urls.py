from .comment_urls import urlpatterns as comment_urlpatterns
from .poll_urls import urlpatterns as poll_urlpatterns

app_name = "comments"

urlpatterns = [*comment_urlpatterns, *poll_urlpatterns]
