from __future__ import annotations

from django import forms


class PasswordForm(forms.Form):
    # No max_length here: an overlong value must get the generic error after the same
    # work as any wrong password, not a different, faster validation message.
    username = forms.CharField(strip=False, widget=forms.TextInput(attrs={
        "autocomplete": "username", "autofocus": True, "autocapitalize": "none",
        "spellcheck": "false"}))
    password = forms.CharField(strip=False, widget=forms.PasswordInput(attrs={
        "autocomplete": "current-password"}))


class TrustForm(forms.Form):
    trust = forms.ChoiceField(choices=[("no", "No"), ("yes", "Yes")], initial="no",
                              widget=forms.RadioSelect)
    device_name = forms.CharField(required=False, max_length=64, label="Device name")

    def clean(self) -> dict[str, object]:
        data = super().clean() or {}
        name = " ".join(str(data.get("device_name") or "").split())
        if data.get("trust") == "yes":
            if not name:
                self.add_error("device_name", "Give this device a name, e.g. "
                                              "\"Home computer Chrome\".")
            elif not name.isprintable():
                self.add_error("device_name", "Use letters, digits and punctuation only.")
        data["device_name"] = name
        return data
