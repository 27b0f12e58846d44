"""Form fields for what readers write, shared by the comment and correction forms."""

from django import forms

from .text import clean_comment_text, shows_something


class ReaderTextField(forms.CharField):
    """Text a reader writes: without hiding or disguising characters (comments.text), and
    text that shows nothing at all counts as no text. Its length limits are the server's to
    explain: the browser's maxlength would cut pasted text silently."""

    def to_python(self, value):
        if value not in self.empty_values:
            value = clean_comment_text(value)
            if not shows_something(value):
                value = ""
        return super().to_python(value)

    def widget_attrs(self, widget):
        attrs = super().widget_attrs(widget)
        attrs.pop("maxlength", None)
        attrs.pop("minlength", None)
        return attrs
