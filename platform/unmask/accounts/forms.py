from django import forms
from django.contrib.auth import get_user_model
from django.contrib.auth.forms import UserCreationForm

from unmask.accounts.services import DEVICE_MAX_LENGTH


class SignUpForm(UserCreationForm):
    """Username, e-mail (needed to reset a forgotten password) and password twice."""

    email = forms.EmailField(help_text="Used only to reset your password.", widget=forms.EmailInput)

    class Meta(UserCreationForm.Meta):
        model = get_user_model()
        fields = ("username", "email")

    def clean_email(self) -> str:
        email = self.cleaned_data["email"].strip()
        if get_user_model().objects.filter(email__iexact=email).exists():
            raise forms.ValidationError("An account with this e-mail address already exists.")
        return email


class NewTokenForm(forms.Form):
    device = forms.CharField(
        max_length=DEVICE_MAX_LENGTH,
        label="Device or script name",
        help_text="A name that tells you later where this token is used.",
    )
