import re

from django.core.management import call_command

from articles.models import Article, Brand, CarModel, Fact, Paragraph
from articles.seed import SEED_DIR, read_seed
from articles.selectors import TABLE_COLUMNS, attribute_value
from comments.models import Poll

SEED_TEXT = (SEED_DIR / "nissan-small-ev.txt").read_text(encoding="utf-8")
SEED_LINES = SEED_TEXT.splitlines()


def numbers_in(text):
    """Every number as written, without thousands separators: '€20,000' -> '20000'."""
    return {match.replace(",", "") for match in re.findall(r"\d[\d,]*", text)}


def test_seed_text_is_the_shipped_article_verbatim():
    shared = SEED_DIR.parents[1].parent / "shared" / "seeds" / "000_bfc677ee2832d9e0.txt"
    if shared.exists():
        assert shared.read_text(encoding="utf-8") == SEED_TEXT
    assert len(SEED_LINES) == 16


def test_loads_headline_standfirst_key_points_and_body_verbatim(seeded_article):
    assert seeded_article.headline == SEED_LINES[0]
    assert seeded_article.standfirst == SEED_LINES[1]
    assert seeded_article.status == Article.Status.PUBLISHED
    key_points = seeded_article.paragraphs.filter(kind=Paragraph.Kind.KEY_POINT)
    body = seeded_article.paragraphs.filter(kind=Paragraph.Kind.BODY)
    assert [p.text for p in key_points.order_by("position")] == SEED_LINES[2:4]
    assert [p.text for p in body.order_by("position")] == SEED_LINES[4:16]


def test_every_fact_quote_occurs_verbatim_in_its_paragraph(seeded_article):
    facts = list(seeded_article.facts.select_related("paragraph"))
    assert len(facts) >= 25
    for fact in facts:
        assert fact.quote in fact.paragraph.text, fact.statement
        assert fact.paragraph.article_id == seeded_article.pk


def test_every_number_in_the_seeded_facts_occurs_in_the_article(seeded_article):
    article_numbers = numbers_in(SEED_TEXT)
    texts = [f"{f.statement} {f.quote} {f.year or ''}" for f in seeded_article.facts.all()]
    for car_model in CarModel.objects.all():
        texts.append(" ".join(str(attribute_value(car_model, a)) for a in TABLE_COLUMNS))
        texts.append(car_model.name)
    for text in texts:
        assert numbers_in(text) <= article_numbers, text


def test_every_stated_model_field_is_backed_by_a_fact(seeded_article):
    for car_model in CarModel.objects.select_related("platform"):
        backed = set(
            Fact.objects.filter(article=seeded_article, car_model=car_model).values_list(
                "attribute", flat=True
            )
        )
        for attribute in TABLE_COLUMNS:
            if attribute_value(car_model, attribute):
                assert attribute.value in backed, f"{car_model} {attribute}"
    for brand in Brand.objects.exclude(parent_group=""):
        assert brand.facts.filter(attribute=Fact.Attribute.PARENT_GROUP).exists(), brand


def test_no_price_range_or_battery_figures_beyond_the_article(seeded_article):
    twingo = CarModel.objects.get(slug="renault-twingo")
    assert (twingo.target_price, twingo.target_price_currency) == (20000, "EUR")
    assert twingo.target_price_is_upper_bound
    nissan = CarModel.objects.get(slug="nissan-a-segment-ev")
    assert nissan.target_price is None
    assert "km" not in SEED_TEXT and "kWh" not in SEED_TEXT
    for fact in seeded_article.facts.all():
        assert "kWh" not in fact.statement and " km" not in fact.statement


def test_seed_includes_the_reader_poll(seeded_article):
    poll = Poll.objects.get(article=seeded_article)
    assert "US" in poll.question
    assert poll.choices.count() == 4
    assert poll.description in SEED_TEXT


def test_running_the_loader_twice_changes_nothing(without_seed):
    call_command("load_seed", verbosity=0)
    counts = [m.objects.count() for m in (Article, Paragraph, Fact, CarModel, Brand, Poll)]
    call_command("load_seed", verbosity=0)
    assert [m.objects.count() for m in (Article, Paragraph, Fact, CarModel, Brand, Poll)] == counts


def test_loader_keeps_editor_changes_unless_asked_to_overwrite(without_seed):
    call_command("load_seed", verbosity=0)
    article = Article.objects.get()
    article.headline = "An editor's better headline"
    article.save()
    Fact.objects.filter(article=article).first().delete()
    fact_count = Fact.objects.count()

    call_command("load_seed", verbosity=0)
    article.refresh_from_db()
    assert article.headline == "An editor's better headline"
    assert Fact.objects.count() == fact_count

    call_command("load_seed", "--overwrite", verbosity=0)
    article.refresh_from_db()
    assert article.headline == SEED_LINES[0]
    assert Fact.objects.count() == len(read_seed()[0]["facts"])
    assert Poll.objects.count() == 1


def test_loading_is_not_shown_as_an_update(client, seeded_article):
    assert seeded_article.updated_at == seeded_article.published_at
    assert "Updated <time" not in client.get(seeded_article.get_absolute_url()).text
