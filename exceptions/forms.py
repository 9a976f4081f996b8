"""Forms for the people's actions: each validates input and turns it into an action's arguments."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Any

from django import forms
from django.contrib.auth import get_user_model
from django.utils import timezone

from exceptions.actions import BULK_ACTIONS, MAX_COMMENT, MAX_SNOOZE
from exceptions.models import ResolutionReason, Team
from integration.roles import ROLE_GROUPS


def people() -> Any:
    """Everyone who works exceptions: active members of a role group."""
    return (
        get_user_model()
        .objects.filter(is_active=True, groups__name__in=list(ROLE_GROUPS))
        .distinct()
        .order_by("username")
    )


class PersonChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: Any) -> str:
        full = obj.get_full_name()
        return f"{full} ({obj.get_username()})" if full else obj.get_username()


class CommentForm(forms.Form):
    text = forms.CharField(
        label="Comment",
        max_length=MAX_COMMENT,
        widget=forms.Textarea(attrs={"rows": 3}),
    )


class AssignForm(forms.Form):
    team = forms.ChoiceField(
        choices=[("", "— the engine's team (unassign) —"), *Team.choices], required=False
    )
    person = PersonChoiceField(queryset=None, required=False, empty_label="— nobody —")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["person"].queryset = people()

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if data.get("person") and not data.get("team"):
            self.add_error("team", "Choose the team as well as the person.")
        data["team"] = data.get("team") or None
        return data


def start_of(day: date) -> datetime:
    """Midnight at the start of `day`, local time: a snooze "until 5 December" ends as it starts."""
    return timezone.make_aware(datetime.combine(day, time.min))


class SnoozeForm(forms.Form):
    until = forms.DateField(label="Snooze until", widget=forms.DateInput(attrs={"type": "date"}))

    def __init__(self, *args: Any, now: datetime | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.now = now or timezone.now()
        today = timezone.localtime(self.now).date()
        self.fields["until"].widget.attrs.update(
            min=(today + timedelta(days=1)).isoformat(), max=(today + MAX_SNOOZE).isoformat()
        )

    def clean_until(self) -> datetime:
        until = start_of(self.cleaned_data["until"])
        if until <= self.now:
            raise forms.ValidationError("Choose a date after today.")
        if until - self.now > MAX_SNOOZE:
            raise forms.ValidationError(f"Snooze for at most {MAX_SNOOZE.days} days.")
        return until


class ResolveForm(forms.Form):
    reason = forms.ChoiceField(choices=ResolutionReason.choices)
    note = forms.CharField(
        required=False, max_length=MAX_COMMENT, widget=forms.TextInput(attrs={"size": 40})
    )

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if data.get("reason") == ResolutionReason.OTHER and not data.get("note", "").strip():
            self.add_error("note", "Say why in the note when the reason is “Other”.")
        return data


class ReopenForm(forms.Form):
    note = forms.CharField(required=False, max_length=MAX_COMMENT)


ACTION_LABELS = {
    "acknowledge": "Acknowledge",
    "assign": "Assign",
    "snooze": "Snooze",
    "resolve": "Resolve",
    "reopen": "Reopen",
}


class BulkForm(forms.Form):
    """One bulk action over either the ticked rows or every row matching the queue's filter."""

    action = forms.ChoiceField(choices=[(name, ACTION_LABELS[name]) for name in BULK_ACTIONS])
    scope = forms.ChoiceField(
        choices=[("selected", "the ticked rows"), ("all", "every row matching the filter")]
    )
    ids = forms.TypedMultipleChoiceField(coerce=int, required=False, choices=[])
    # The queue's query string when the user chose: the selection is rebuilt from it.
    filter = forms.CharField(required=False, widget=forms.HiddenInput)
    expected = forms.IntegerField(required=False, min_value=0, widget=forms.HiddenInput)
    confirm = forms.BooleanField(required=False, widget=forms.HiddenInput)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Ids are checked against the database by the selection itself: any integer is accepted
        # here, and one that matches nothing simply is not in the selection.
        self.fields["ids"].valid_value = lambda value: str(value).isdigit()  # type: ignore[attr-defined]

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if data.get("scope") == "selected" and not data.get("ids"):
            raise forms.ValidationError("Tick at least one exception, or choose “every row”.")
        return data
