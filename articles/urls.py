from django.urls import path

from . import views

app_name = "articles"

urlpatterns = [
    path("", views.home, name="home"),
    path("articles/<slug:slug>/", views.article_detail, name="detail"),
    path("articles/<slug:slug>/facts.json", views.article_facts_json, name="facts_json"),
    path(
        "articles/<slug:slug>/corrections/new/",
        views.correction_new,
        name="correction_new",
    ),
    path(
        "articles/<slug:slug>/corrections/sent/",
        views.correction_sent,
        name="correction_sent",
    ),
    path("models/<slug:slug>/", views.car_model_detail, name="car_model"),
    path("brands/<slug:slug>/", views.brand_detail, name="brand"),
    path("platforms/<slug:slug>/", views.platform_detail, name="platform"),
]
