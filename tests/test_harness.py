"""The test suite's own set-up: which Hypothesis profile a run uses, and what it fixes."""

from __future__ import annotations

import pytest
from hypothesis import settings

from tests.conftest import hypothesis_profile


@pytest.mark.parametrize(
    ("environ", "profile"),
    [
        ({"CI": "true"}, "ci"),
        ({"CI": "1"}, "ci"),
        ({}, "dev"),
        ({"CI": ""}, "dev"),
        ({"CI": "false"}, "dev"),
        ({"CI": "true", "HYPOTHESIS_PROFILE": "dev"}, "dev"),
        ({"HYPOTHESIS_PROFILE": "ci"}, "ci"),
    ],
)
def test_hypothesis_profile_follows_ci(environ: dict[str, str], profile: str) -> None:
    """CI runs use the `ci` profile, other runs `dev`, and HYPOTHESIS_PROFILE overrides both."""
    assert hypothesis_profile(environ) == profile


def test_ci_profile_tries_the_same_examples_every_run() -> None:
    """The `ci` profile is derandomized with no example database and no deadline, so a green run is not luck."""
    ci = settings.get_profile("ci")
    assert (ci.derandomize, ci.database, ci.deadline, ci.print_blob) == (True, None, None, True)
