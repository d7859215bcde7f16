"""The patient's invitation to choose her own password, for the console's patient page (issue 17)."""

from django import template

from apps.accounts.account_tokens import InvitationStatus, invitation_status
from apps.accounts.models import User

register = template.Library()


@register.simple_tag
def invitation_of(user: User) -> InvitationStatus | None:
    return invitation_status(user)
