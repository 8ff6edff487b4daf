from __future__ import annotations

from knotwork.atlas.loader import atlas
from knotwork.engine.core import default_engine
from knotwork.lib.warmup import warm_reference_data


def test_warm_up_loads_the_reference_data_without_the_database():
    # pytest-django refuses database access in a test without the django_db mark, so this also
    # proves a server process can warm up before it has a database connection.
    atlas.cache_clear()
    default_engine.cache_clear()
    warm_reference_data()
    assert atlas.cache_info().currsize == 1
    assert default_engine.cache_info().currsize == 1


def test_the_wsgi_application_warms_up_when_it_loads():
    import importlib

    import config.wsgi

    atlas.cache_clear()
    importlib.reload(config.wsgi)
    assert atlas.cache_info().currsize == 1
