"""Deploy-and-smoke: the whole consent story on the embedded chain and on anvil."""

from __future__ import annotations

from pathlib import Path

import pytest

from collective.chain import Chain
from collective.deploy import Deployment
from tests.helpers import World, deploy_consortium, make_world, play_consent_story


@pytest.fixture(params=["embedded", "anvil"])
def world(request: pytest.FixtureRequest, tmp_path: Path) -> World:
    if request.param == "embedded":
        chain: Chain = request.getfixturevalue("chain")
        suite: Deployment = request.getfixturevalue("suite")
    else:
        chain = request.getfixturevalue("anvil_chain")
        suite = deploy_consortium(chain, tmp_path / "anvil.json", fresh=True)
    return make_world(chain, suite)


def test_consent_story(world: World) -> None:
    play_consent_story(world)
