from __future__ import annotations

import pytest

from knotwork.learn.content import content_load


@pytest.fixture
def shipped(db):
    """The shipped platform articles, loaded as `knotwork learn load` does."""
    content_load()
