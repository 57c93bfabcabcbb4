"""The team budget form: owners set a monthly allowance or a one-off balance, and limits."""

from __future__ import annotations

from typing import Any

from django import forms

from studio.models import BudgetKind
from studio.services.ledger import BudgetSettings

# Far beyond any real team's spend: a bigger number is a typo (or a probe).
MAX_CREDITS = 10_000_000
MAX_IN_FLIGHT = 1_000


def _credits_field(label: str, *, required: bool, minimum: int, help_text: str) -> Any:
    return forms.IntegerField(
        label=label,
        required=required,
        min_value=minimum,
        max_value=MAX_CREDITS,
        help_text=help_text,
        error_messages={
            "required": "Enter a number of credits.",
            "invalid": "Enter a whole number of credits, such as 500.",
            "min_value": "Credits cannot be negative." if minimum == 0 else "Enter at least 1.",
            "max_value": f"That is more than Studio allows ({MAX_CREDITS:,} credits).",
        },
    )


class BudgetForm(forms.Form):
    kind = forms.ChoiceField(
        label="Budget",
        choices=BudgetKind.choices,
        error_messages={"invalid_choice": "Choose a monthly allowance or a one-off balance."},
    )
    amount = _credits_field(
        "Credits",
        required=True,
        minimum=0,
        help_text="The allowance each month, or the balance the team has now.",
    )
    member_monthly_limit = _credits_field(
        "Limit per member each month",
        required=False,
        minimum=1,
        help_text="Optional. Leave empty for no limit.",
    )
    max_in_flight = forms.IntegerField(
        label="Jobs in flight at once",
        required=False,
        min_value=1,
        max_value=MAX_IN_FLIGHT,
        help_text="Optional. More jobs wait their turn.",
        error_messages={
            "invalid": "Enter a whole number of jobs, such as 5.",
            "min_value": "Allow at least 1 job, or leave it empty for no limit.",
            "max_value": f"Allow at most {MAX_IN_FLIGHT:,} jobs at once.",
        },
    )

    def settings(self) -> BudgetSettings:
        data = self.cleaned_data
        return BudgetSettings(
            kind=data["kind"],
            amount=data["amount"],
            member_monthly_limit=data["member_monthly_limit"],
            max_in_flight=data["max_in_flight"],
        )
