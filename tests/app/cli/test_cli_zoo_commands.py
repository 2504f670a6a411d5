"""`mtlzoo list | info | eval | demo`, in process and as a subprocess."""

import json

from cli_helpers import own_lines
from cli_helpers import run_cli

from mtlzoo.app import cli

TINY = "fashion_tiny_test"


def test_cli_in_process(capsys):
    assert cli.main(["list", "--names"]) == 0
    assert TINY in capsys.readouterr().out.split()
    assert cli.main(["info", TINY, "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["name"] == TINY
    assert cli.main(["eval", TINY, "--sample"]) == 0
    assert "garment_accuracy" in capsys.readouterr().out
    assert cli.main(["info", "no_such_model"]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "Valid names" in err[0]
    assert cli.main(["eval", TINY, "--sample", "--data", "/x"]) == 1
    assert "exclude each other" in capsys.readouterr().err
    assert cli.main(["nope"]) == 2
    assert len(capsys.readouterr().err.strip().splitlines()) == 1
    for command in ("list", "info", "demo", "eval"):
        assert cli.main([command, "--help"]) == 0
        assert "usage: mtlzoo" in capsys.readouterr().out


def test_list_json_and_pattern(capsys):
    assert cli.main(["list", "fashion_tiny*", "--json"]) == 0
    (row,) = json.loads(capsys.readouterr().out)
    assert row["name"] == TINY and "garment" in row["tasks"]
    assert cli.main(["list", "no_such_*"]) == 0
    assert "No preset matches" in capsys.readouterr().out


def test_eval_data_argument():
    assert cli.evaluate.parse_data(None) is None
    assert cli.evaluate.parse_data(["/data"]) == "/data"
    assert cli.evaluate.parse_data(["a=/x", "b=/y"]) == {"a": "/x", "b": "/y"}


def test_cli_subprocess_list_and_info():
    result = run_cli("list", timeout=300)
    assert result.returncode == 0, result.stderr
    assert TINY in result.stdout
    result = run_cli("info", "no_such_model", timeout=300)
    assert result.returncode == 1
    (line,) = own_lines(result.stderr)
    assert line.startswith("mtlzoo info: error: Unknown preset")


def test_cli_subprocess_demo(tmp_path):
    result = run_cli(
        "demo",
        "--name",
        TINY,
        "--out",
        "d.png",
        "--num-images",
        "2",
        cwd=tmp_path,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "d.png").stat().st_size > 1000
    assert "Wrote d.png" in result.stdout
