"""The behaviour registry knows every name without importing every behaviour (issue 14).

:data:`sigscope.lab.behaviours.MODULES` names the module of each behaviour, so that the
dashboard's start-up (its ``--behaviour`` help lists the names; its lab checks one) imports
one behaviour's module, not all of them; a lookup imports the module it needs.
"""

from __future__ import annotations

import json
import subprocess
import sys

from sigscope.lab.behaviours import BEHAVIOURS, MODULES, load_all


def _in_a_fresh_python(code: str) -> dict[str, object]:
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    )
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


def test_the_table_names_each_behaviour_and_its_module() -> None:
    load_all()  # every module of the package, as the lab's master does
    assert sorted(BEHAVIOURS.loaded()) == sorted(MODULES)  # none left out of the table
    for name, module in MODULES.items():
        assert BEHAVIOURS[name].run.__module__ == f"sigscope.lab.behaviours.{module}", name
    assert list(BEHAVIOURS) == list(MODULES)
    assert len(BEHAVIOURS) == len(MODULES)


def test_names_import_nothing_and_a_lookup_imports_its_module() -> None:
    seen = _in_a_fresh_python(
        "import json, sys\n"
        "from sigscope.lab.behaviours import BEHAVIOURS\n"
        "names = sorted(BEHAVIOURS)\n"
        "before = BEHAVIOURS.loaded()\n"
        "'alarm' in BEHAVIOURS\n"
        "summary = BEHAVIOURS['alarm'].summary\n"
        "modules = [m for m in sys.modules if m.startswith('sigscope.lab.behaviours.')]\n"
        "print(json.dumps({'names': names, 'before': before, 'after': BEHAVIOURS.loaded(),\n"
        "                  'modules': modules, 'summary': summary}))\n"
    )
    assert seen["names"] == sorted(MODULES)
    assert seen["before"] == []
    assert seen["after"] == ["alarm"]
    assert "sigscope.lab.behaviours.alarm" in seen["modules"]  # type: ignore[operator]
    assert "sigscope.lab.behaviours.busy_c" not in seen["modules"]  # type: ignore[operator]
    assert seen["summary"]


def test_the_dashboards_start_up_imports_only_the_behaviour_it_runs() -> None:
    seen = _in_a_fresh_python(
        "import json\n"
        "import sigscope.ui.app\n"
        "from sigscope.cli import build_parser\n"
        "from sigscope.lab.behaviours import BEHAVIOURS\n"
        "from sigscope.ui.settings import LabSettings\n"
        "args = build_parser().parse_args(['--behaviour', 'sleep-loop:interval=2'])\n"
        "name, params = args.behaviour\n"
        "LabSettings(args.workers, name, params, args.reaping, args.grace).make_source()\n"
        "print(json.dumps({'loaded': BEHAVIOURS.loaded()}))\n"
    )
    # (and the playground, whose names the lab's controller uses: its code's folder, its cap)
    assert set(seen["loaded"]) == {"sleep-loop", "playground"}  # type: ignore[arg-type]


def test_an_unknown_name_is_refused_without_importing_anything() -> None:
    assert "no-such" not in BEHAVIOURS
    try:
        BEHAVIOURS["no-such"]
    except KeyError:
        pass
    else:
        raise AssertionError("no KeyError")
