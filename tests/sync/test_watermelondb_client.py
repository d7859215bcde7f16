"""Issue 6 item 7: the real WatermelonDB client (sync_client/, @nozbe/watermelondb 0.28 under Node 20, LokiJS in
memory) syncs against a live server. scripts/test.sh installs it from the lock file (scripts/sync_client.sh)."""

import os
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CLIENT = ROOT / "sync_client"


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)  # also puts the catalogue back after other tests flushed it
@pytest.mark.urls("tests.sync.live_urls")
def test_the_real_watermelondb_client_conforms(live_server) -> None:
    node = shutil.which("node")
    assert node is not None, "Node 20 is needed: scripts/sync_client.sh installs it"
    assert (CLIENT / "node_modules/@nozbe/watermelondb/package.json").exists(), "run scripts/sync_client.sh"
    env = {**os.environ, "BONESYNC_URL": live_server.url}
    result = subprocess.run(  # noqa: S603 - a fixed command
        [node, "--test", "--test-reporter=spec", "test/"],
        cwd=CLIENT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    output = result.stdout + result.stderr
    print(output)
    assert result.returncode == 0, output
    assert "# fail 0" in output or "fail 0" in output
