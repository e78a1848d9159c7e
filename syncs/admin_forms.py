"""The sync config page's form: school IDs as a plain list, and secrets that are
write-only (never sent back to the browser)."""

from __future__ import annotations

import json
import re

from django import forms

from syncs.clients.sshkeys import load_private_key
from syncs.errors import SyncFailure

SECRETS = {
    "sftp_password": "SFTP password",
    "sftp_private_key": "SFTP private key",
    "api_token": "API token",
    "oauth_client_secret": "OAuth client secret",
}


class SchoolIdsField(forms.Field):
    """School IDs as people write them: one per line or separated by commas, kept as
    text exactly as typed (`0123` stays `0123`). Stored as the JSON list of strings
    SyncConfig.school_ids holds; a JSON list of strings is accepted as typed too."""

    widget = forms.Textarea(attrs={"rows": 4, "cols": 30, "spellcheck": "false"})
    default_error_messages = {
        "spaces": "“%(value)s” has a space inside it. Put each school ID on its own line "
        "or separate them with commas, for example: 0123, 0456.",
        "characters": "“%(value)s” is not a school ID: write the IDs plainly, one per line "
        "or separated by commas, exactly as the SIS writes them (for example 0123, 0456).",
        "not_text": "The list has a number, %(value)s, where an ID as text is needed; "
        "numbers lose their leading zeros. Write it as the SIS does, for example 0123.",
        "too_long": "“%(value)s…” is longer than a school ID can be (255 characters).",
    }
    BAD = re.compile(r"[\[\]{}\"'<>]")

    def prepare_value(self, value):
        if isinstance(value, list | tuple):
            return "\n".join(str(v) for v in value)
        return value

    def to_python(self, value) -> list[str]:
        if isinstance(value, list | tuple):
            return [str(v) for v in value]
        text = (value or "").strip()
        if text.startswith("["):
            return self._from_json(text)
        ids: list[str] = []
        for raw in re.split(r"[,\n\r]+", text):
            item = raw.strip()
            if len(item) >= 2 and item[0] == item[-1] and item[0] in "\"'":
                item = item[1:-1].strip()  # pasted with quotes around it
            if item and item not in ids:
                ids.append(item)
        for item in ids:
            self._check(item)
        return ids

    def _from_json(self, text: str) -> list[str]:
        try:
            loaded = json.loads(text)
        except ValueError:
            raise forms.ValidationError(
                self.error_messages["characters"], code="characters", params={"value": text[:40]}
            ) from None
        if not isinstance(loaded, list):
            raise forms.ValidationError(
                self.error_messages["characters"], code="characters", params={"value": text[:40]}
            )
        for item in loaded:
            if not isinstance(item, str):
                raise forms.ValidationError(
                    self.error_messages["not_text"], code="not_text", params={"value": item}
                )
        ids = list(dict.fromkeys(item.strip() for item in loaded if item.strip()))
        for item in ids:
            self._check(item)
        return ids

    def _check(self, item: str) -> None:
        if len(item) > 255:
            raise forms.ValidationError(
                self.error_messages["too_long"], code="too_long", params={"value": item[:20]}
            )
        if re.search(r"\s", item):
            raise forms.ValidationError(
                self.error_messages["spaces"], code="spaces", params={"value": item}
            )
        if self.BAD.search(item):
            raise forms.ValidationError(
                self.error_messages["characters"], code="characters", params={"value": item}
            )

    def has_changed(self, initial, data) -> bool:
        try:
            return self.to_python(data) != list(initial or [])
        except forms.ValidationError:
            return True


class SyncConfigAdminForm(forms.ModelForm):
    """For those who manage credentials. Secrets (SFTP password and key, API token,
    OAuth client secret) are write-only: the page never shows them (not even as hidden
    values), a blank field keeps the stored secret, and a box removes it."""

    SECRETS = SECRETS

    school_ids = SchoolIdsField(
        required=False,
        label="School IDs",
        help_text="One per line, or separated by commas, exactly as the SIS writes them "
        "(leading zeros included). Empty means every school in the files.",
    )
    sftp_password = forms.CharField(
        required=False, strip=False, widget=forms.PasswordInput(render_value=False)
    )
    sftp_private_key = forms.CharField(
        required=False, widget=forms.Textarea(attrs={"rows": 4, "autocomplete": "off"})
    )
    clear_sftp_password = forms.BooleanField(
        required=False, label="Remove the stored SFTP password"
    )
    clear_sftp_private_key = forms.BooleanField(
        required=False, label="Remove the stored SFTP private key"
    )
    api_token = forms.CharField(
        required=False, strip=True, widget=forms.PasswordInput(render_value=False)
    )
    oauth_client_secret = forms.CharField(
        required=False, strip=True, widget=forms.PasswordInput(render_value=False)
    )
    clear_api_token = forms.BooleanField(required=False, label="Remove the stored API token")
    clear_oauth_client_secret = forms.BooleanField(
        required=False, label="Remove the stored OAuth client secret"
    )

    # No Meta: SyncConfigAdmin supplies the model and its fields (its fieldsets).

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for name, label in self.SECRETS.items():
            self.initial.pop(name, None)  # never sent to the browser
            if name not in self.fields:
                continue
            stored = bool(getattr(self.instance, name, ""))
            self.fields[name].label = label
            self.fields[name].help_text = (
                "Set. Leave blank to keep it; type a new one to replace it."
                if stored
                else "Not set."
            )

    def clean_sftp_private_key(self):
        text = self.cleaned_data["sftp_private_key"].strip()
        if text:
            try:
                load_private_key(text)
            except SyncFailure as exc:
                raise forms.ValidationError(exc.message) from exc
        return text

    def clean(self):
        cleaned = super().clean()
        for name in self.SECRETS:
            if name not in self.fields:
                continue
            if cleaned.get(f"clear_{name}"):
                cleaned[name] = ""
            elif not cleaned.get(name):
                cleaned[name] = getattr(self.instance, name, "")  # blank keeps the stored one
        return cleaned
