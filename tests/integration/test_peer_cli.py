"""`justnet peer add --jurisdictions` and `peer list`: the states accepted from a peer."""

from __future__ import annotations

from pathlib import Path

import pytest

from services.cli.main import main
from services.cli.nodes import write_node


def test_peer_add_narrows_the_states_accepted_and_refuses_unlisted_ones(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    ours = write_node(tmp_path / "sea", "SEAJUST", "SEAJUST", ["TH", "VN"], 27000)
    theirs = write_node(tmp_path / "wacap", "WACAP", "WACAP", ["NG", "SN", "GH"], 27100)
    assert main(["migrate", "federation", "--config", str(ours)]) == 0
    capsys.readouterr()
    assert main(["node-info", "--json", "--config", str(theirs)]) == 0
    descriptor = tmp_path / "WACAP.json"
    descriptor.write_text(capsys.readouterr().out)
    add = ["peer", "add", "--descriptor", str(descriptor), "--config", str(ours)]

    # A state the descriptor does not list: exit 2, naming the option and the state.
    assert main([*add, "--jurisdictions", "NG,TH"]) == 2
    err = capsys.readouterr().err
    assert "--jurisdictions" in err and "TH" in err and "NG, SN, GH" in err
    assert main([*add, "--jurisdictions", "NG,XX"]) == 2
    assert "--jurisdictions" in capsys.readouterr().err
    assert main([*add, "--jurisdictions", " , "]) == 2
    assert "--jurisdictions" in capsys.readouterr().err
    assert main(["peer", "list", "--config", str(ours)]) == 0
    assert capsys.readouterr().out == ""  # nothing was added

    assert main([*add, "--jurisdictions", "ng, sn"]) == 0
    out = capsys.readouterr().out
    assert "its descriptor lists: NG, SN, GH" in out
    assert "records applied for:  NG, SN" in out
    assert "records for GH" in out
    assert main(["peer", "list", "--config", str(ours)]) == 0
    [line] = capsys.readouterr().out.splitlines()
    assert line.startswith("WACAP") and "NG,SN " in line

    # Without the option, a replace keeps the narrowing; a new peer accepts all it lists.
    assert main([*add, "--replace"]) == 0
    assert "records applied for:  NG, SN" in capsys.readouterr().out
    assert main(["peer", "remove", "WACAP", "--config", str(ours)]) == 0
    capsys.readouterr()
    assert main(add) == 0
    out = capsys.readouterr().out
    assert "records applied for:  GH, NG, SN" in out and "quarantined" not in out
