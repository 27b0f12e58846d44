def test_home_page_shows_the_seeded_headline(client, seeded_article):
    response = client.get("/")
    assert response.status_code == 200
    assert seeded_article.headline in response.text
