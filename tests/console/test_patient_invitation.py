"""The console's patient page says whether she has chosen her own password (issue 17)."""

from datetime import timedelta

from apps.accounts.account_tokens import invitation_create
from apps.accounts.models import AccountToken
from backend import clock
from tests.conftest import World


def test_the_patient_page_shows_her_invitation(world: World, console_for) -> None:
    url = f"/console/patients/{world.ann.pk}/"
    assert "Her password" not in console_for(world.cora).get(url).content.decode()  # staff set hers
    row = invitation_create(user=world.ann.user, actor=world.cora)
    assert "invitation pending" in console_for(world.cora).get(url).content.decode()
    AccountToken.objects.filter(pk=row.pk).update(expires_at=clock.now() - timedelta(minutes=1))
    assert "invitation expired" in console_for(world.cora).get(url).content.decode()
