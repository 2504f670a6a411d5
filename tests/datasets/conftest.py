"""Every dataset test is hermetic: no real data dirs, no downloads."""

import pytest

from mtlzoo.datasets import sources


@pytest.fixture(autouse=True)
def _offline(tmp_path, monkeypatch):
    """No real data dirs, no downloads: every lookup is hermetic."""
    empty = tmp_path / "empty"
    empty.mkdir()
    monkeypatch.setenv("MTLZOO_DATA_DIR", str(empty))
    monkeypatch.setenv("KERAS_HOME", str(empty))

    def no_network(name):
        raise OSError("network disabled in tests")

    monkeypatch.setattr(sources, "_download", no_network)
