from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Min, Prefetch, Q
from django.urls import reverse
from django.utils import timezone


def sees_unpublished(user):
    """Editors see drafts and articles scheduled for later; readers see published ones."""
    return user.is_authenticated and user.is_staff


class ArticleQuerySet(models.QuerySet):
    def published(self):
        return self.published_by(timezone.now())

    def published_by(self, moment):
        return self.filter(status=Article.Status.PUBLISHED, published_at__lte=moment)

    def visible_to(self, user):
        return self if sees_unpublished(user) else self.published()

    def featured(self):
        return self.published().order_by("-published_at", "-pk").first()


class Article(models.Model):
    class Status(models.TextChoices):
        DRAFT = "draft", "Draft"
        PUBLISHED = "published", "Published"

    headline = models.CharField(max_length=200)
    slug = models.SlugField(max_length=120, unique=True)
    standfirst = models.TextField(help_text="The summary shown under the headline.")
    byline = models.CharField(max_length=120, blank=True, help_text="Who wrote the article.")
    source_name = models.CharField(max_length=120, blank=True, help_text="Original publisher.")
    source_url = models.URLField(blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.DRAFT)
    published_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    objects = ArticleQuerySet.as_manager()

    class Meta:
        ordering = ["-published_at", "-pk"]
        indexes = [
            models.Index(fields=["status", "-published_at"], name="article_status_published")
        ]

    def __str__(self):
        return self.headline

    def get_absolute_url(self):
        return reverse("articles:detail", kwargs={"slug": self.slug})

    @property
    def is_published(self):
        return self.status == self.Status.PUBLISHED and self.published_at <= timezone.now()

    def is_visible_to(self, user):
        """The same rule as `Article.objects.visible_to(user)`, for an article in hand."""
        return self.is_published or sees_unpublished(user)


class Paragraph(models.Model):
    """One block of an article's text: a key point or a body paragraph, with a stable anchor."""

    class Kind(models.TextChoices):
        KEY_POINT = "key_point", "Key point"
        BODY = "body", "Body paragraph"

    article = models.ForeignKey(Article, on_delete=models.CASCADE, related_name="paragraphs")
    kind = models.CharField(max_length=10, choices=Kind.choices, default=Kind.BODY)
    position = models.PositiveSmallIntegerField(help_text="1 for the first of its kind.")
    text = models.TextField()

    class Meta:
        ordering = ["article", "kind", "position"]
        constraints = [
            models.UniqueConstraint(
                fields=["article", "kind", "position"], name="paragraph_unique_position"
            ),
            models.CheckConstraint(condition=Q(position__gte=1), name="paragraph_position_gte_1"),
        ]

    def __str__(self):
        return f"{self.label}: {self.text[:60]}"

    def get_absolute_url(self):
        return f"{self.article.get_absolute_url()}#{self.anchor}"

    @property
    def anchor(self):
        prefix = "k" if self.kind == self.Kind.KEY_POINT else "p"
        return f"{prefix}-{self.position}"

    @property
    def label(self):
        if self.kind == self.Kind.KEY_POINT:
            return f"Key point {self.position}"
        return f"Paragraph {self.position}"


class Brand(models.Model):
    name = models.CharField(max_length=80, unique=True)
    slug = models.SlugField(max_length=80, unique=True)
    parent_group = models.CharField(
        max_length=80, blank=True, help_text="Leave blank when the article does not say."
    )

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return self.name

    def get_absolute_url(self):
        return reverse("articles:brand", kwargs={"slug": self.slug})


class Platform(models.Model):
    name = models.CharField(max_length=80, unique=True)
    slug = models.SlugField(max_length=80, unique=True)
    description = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return self.name

    def get_absolute_url(self):
        return reverse("articles:platform", kwargs={"slug": self.slug})


class CarModelQuerySet(models.QuerySet):
    def mentioned_in(self, article):
        """Models the article has facts about, each with those facts prefetched."""
        return (
            self.filter(facts__article=article)
            .annotate(first_mention=Min("facts__position"))
            .select_related("brand", "platform")
            .prefetch_related(
                Prefetch(
                    "facts",
                    queryset=Fact.objects.filter(article=article).select_related(
                        "paragraph__article"
                    ),
                    to_attr="article_facts",
                )
            )
            .order_by("first_mention", "pk")
        )


class CarModel(models.Model):
    """A car model as the article describes it. Blank fields mean "not stated"."""

    class Status(models.TextChoices):
        NOT_STATED = "", "Not stated"
        CONCEPT = "concept", "Concept"
        EXPLORING = "exploring", "Exploring development"
        IN_DEVELOPMENT = "in_development", "In development"
        ON_SALE = "on_sale", "On sale"

    name = models.CharField(max_length=120)
    slug = models.SlugField(max_length=120, unique=True)
    brand = models.ForeignKey(Brand, on_delete=models.PROTECT, related_name="car_models")
    platform = models.ForeignKey(
        Platform, on_delete=models.SET_NULL, null=True, blank=True, related_name="car_models"
    )
    segment = models.CharField(max_length=60, blank=True)
    body_style = models.CharField(max_length=60, blank=True)
    status = models.CharField(max_length=20, choices=Status.choices, blank=True, default="")
    market = models.CharField(max_length=80, blank=True)
    timing = models.CharField(max_length=120, blank=True)
    target_price = models.DecimalField(max_digits=10, decimal_places=0, null=True, blank=True)
    target_price_currency = models.CharField(max_length=3, blank=True, help_text="ISO code: EUR")
    target_price_is_upper_bound = models.BooleanField(
        default=False, help_text='The article says "less than" this price.'
    )
    target_price_usd = models.DecimalField(
        max_digits=10,
        decimal_places=0,
        null=True,
        blank=True,
        help_text="The dollar figure the article gives beside the price, if any.",
    )
    aliases = models.CharField(
        max_length=300,
        blank=True,
        help_text="Other names readers use for it, comma separated (A290, R5). Comments link "
        "each of these, and the name, to the model's facts.",
    )

    objects = CarModelQuerySet.as_manager()

    class Meta:
        ordering = ["brand__name", "name"]
        constraints = [
            models.UniqueConstraint(fields=["brand", "name"], name="car_model_unique_per_brand"),
            models.CheckConstraint(
                condition=Q(target_price__isnull=True) | Q(target_price__gte=0),
                name="car_model_target_price_non_negative",
            ),
            models.CheckConstraint(
                condition=Q(target_price__isnull=True) | ~Q(target_price_currency=""),
                name="car_model_target_price_has_currency",
            ),
        ]

    def __str__(self):
        return f"{self.brand.name} {self.name}" if self.brand_id else self.name

    def get_absolute_url(self):
        return reverse("articles:car_model", kwargs={"slug": self.slug})


class FactQuerySet(models.QuerySet):
    def for_panel(self):
        return self.select_related("paragraph__article", "car_model__brand", "brand", "platform")

    def dated(self):
        return self.exclude(year=None).order_by("year", "position")


class Fact(models.Model):
    """One claim the article makes, with the quote and paragraph that back it."""

    class Topic(models.TextChoices):
        CAR_MODEL = "car_model", "Car model"
        BRAND = "brand", "Brand"
        PLATFORM = "platform", "Platform"
        BATTERY = "battery", "Battery technology"
        MARKET = "market", "Market"

    class Certainty(models.TextChoices):
        STATED = "stated", "Stated"
        REPORTED = "reported", "Reported"
        EXPECTED = "expected", "Expected"
        INTENDED = "intended", "Intended"
        PLANNED = "planned", "Planned"
        TARGET = "target", "Target"
        UNCERTAIN = "uncertain", "Uncertain"

    class Attribute(models.TextChoices):
        """The car model, brand or platform field this fact backs, if any."""

        NONE = "", "—"
        PLATFORM = "platform", "Platform"
        SEGMENT = "segment", "Segment"
        BODY_STYLE = "body_style", "Body style"
        STATUS = "status", "Status"
        MARKET = "market", "Market"
        TIMING = "timing", "Timing"
        TARGET_PRICE = "target_price", "Target price"
        PARENT_GROUP = "parent_group", "Parent group"

    ANCHOR_PREFIX = "fact-"

    article = models.ForeignKey(Article, on_delete=models.CASCADE, related_name="facts")
    position = models.PositiveSmallIntegerField(default=0)
    topic = models.CharField(max_length=20, choices=Topic.choices)
    statement = models.CharField(
        max_length=300, help_text="The fact in plain words, as certain as the article is."
    )
    certainty = models.CharField(max_length=10, choices=Certainty.choices)
    year = models.PositiveSmallIntegerField(
        null=True, blank=True, help_text="Puts the fact on the timeline."
    )
    car_model = models.ForeignKey(
        CarModel, on_delete=models.CASCADE, null=True, blank=True, related_name="facts"
    )
    brand = models.ForeignKey(
        Brand, on_delete=models.CASCADE, null=True, blank=True, related_name="facts"
    )
    platform = models.ForeignKey(
        Platform, on_delete=models.CASCADE, null=True, blank=True, related_name="facts"
    )
    attribute = models.CharField(max_length=20, choices=Attribute.choices, blank=True)
    paragraph = models.ForeignKey(Paragraph, on_delete=models.PROTECT, related_name="facts")
    quote = models.TextField(help_text="The words of the article that back this fact, verbatim.")

    objects = FactQuerySet.as_manager()

    class Meta:
        ordering = ["article", "position", "pk"]
        indexes = [models.Index(fields=["article", "position"], name="fact_article_position")]
        constraints = [
            models.CheckConstraint(
                condition=Q(year__isnull=True) | Q(year__gte=1900, year__lte=2100),
                name="fact_year_plausible",
            ),
        ]

    def __str__(self):
        return self.statement

    def get_absolute_url(self):
        return self.paragraph.get_absolute_url()

    @property
    def anchor(self):
        """The id of its card on the article page, as readers' comments and corrections name
        it: "fact-12" (a fact the model table shows has no card: `selectors.fact_cards`)."""
        return f"{self.ANCHOR_PREFIX}{self.pk}"

    def clean(self):
        if self.paragraph_id and self.article_id and self.paragraph.article_id != self.article_id:
            raise ValidationError({"paragraph": "Choose a paragraph of this fact's article."})
        if self.paragraph_id and self.quote and self.quote not in self.paragraph.text:
            raise ValidationError(
                {"quote": "The quote must appear word for word in the chosen paragraph."}
            )
        subjects = {
            Fact.Attribute.PARENT_GROUP: self.brand_id,
        }
        if self.attribute and not subjects.get(self.attribute, self.car_model_id):
            raise ValidationError(
                {"attribute": "A fact that backs a field needs the model or brand it is about."}
            )


class Correction(models.Model):
    """A reader's suggestion that a paragraph or a fact is wrong, and the editors' answer."""

    class Status(models.TextChoices):
        OPEN = "open", "Open"
        ACCEPTED = "accepted", "Accepted"
        DECLINED = "declined", "Declined"

    article = models.ForeignKey(Article, on_delete=models.CASCADE, related_name="corrections")
    anchor = models.CharField(max_length=20, help_text='"k-1", "p-3" or "fact-12".')
    paragraph = models.ForeignKey(
        Paragraph, on_delete=models.SET_NULL, null=True, blank=True, related_name="corrections"
    )
    fact = models.ForeignKey(
        Fact, on_delete=models.SET_NULL, null=True, blank=True, related_name="corrections"
    )
    explanation = models.TextField(help_text="What the reader says is wrong, and why.")
    source_url = models.URLField(max_length=500, blank=True)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    reader_token = models.CharField(max_length=64, blank=True)
    ip_hash = models.CharField(max_length=64, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    status = models.CharField(
        max_length=10, choices=Status.choices, default=Status.OPEN, db_index=True
    )
    change_note = models.TextField(
        blank=True, help_text="Shown to readers when accepted: what was corrected."
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["created_at", "pk"]
        indexes = [models.Index(fields=["article", "status"], name="correction_article_status")]

    def __str__(self):
        return f"Correction to {self.anchor}: {self.explanation[:50]}"
