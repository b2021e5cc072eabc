"""The README documents every config field and every preset, and gives the two set-up commands that CI runs."""

from pathlib import Path

from ces_env.config import FIELD_NAMES, PRESETS

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text()


def test_every_parameter_is_in_the_readme_table():
    missing = [name for name in FIELD_NAMES if f"| `{name}` |" not in README]
    assert not missing, f"README parameter table lacks {missing}"


def test_every_preset_is_in_the_readme():
    missing = [name for name in PRESETS if f"| `{name}` |" not in README]
    assert not missing, f"README preset table lacks {missing}"


def test_ci_runs_the_readme_test_command():
    command = 'pip install -c constraints.txt -e ".[test,train,ray]" && python -m pytest'
    assert command in README
    assert command in (ROOT / ".ci" / "run").read_text()


def test_every_python_package_is_installed_by_pyproject():
    """A non-editable install (the README's main command) ships only the packages pyproject lists."""
    import tomllib

    listed = set(tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"])
    found = set()
    for init in ROOT.glob("ces_env/**/__init__.py"):
        found.add(".".join(init.parent.relative_to(ROOT).parts))
    for init in ROOT.glob("baselines/**/__init__.py"):
        found.add(".".join(("ces_baselines", *init.parent.relative_to(ROOT / "baselines").parts)))
    assert found <= listed, f"packages missing from pyproject's [tool.setuptools] packages: {sorted(found - listed)}"
