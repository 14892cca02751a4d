from django import forms


class ResetRequestForm(forms.Form):
    email = forms.EmailField(max_length=254, widget=forms.EmailInput(attrs={
        "autocomplete": "email", "autofocus": True}))
