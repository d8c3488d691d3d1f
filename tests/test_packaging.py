"""Packaging (pyproject.toml): ``pip install .`` makes ``pipeline`` importable with its package
data, and the dependencies are requirements.txt's pins."""

import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

from conftest import ROOT


def requirement_lines(path: Path) -> list[str]:
    return [line.strip() for line in path.read_text().splitlines()
            if line.strip() and not line.startswith(("#", "-r"))]


def test_dependencies_are_read_from_requirements_txt():
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert config["project"]["dynamic"] == ["dependencies"] and "dependencies" not in config["project"]
    assert config["tool"]["setuptools"]["dynamic"]["dependencies"] == {"file": ["requirements.txt"]}
    assert config["project"]["requires-python"] == ">=3.11"
    assert sys.version_info >= (3, 11)


def test_pip_install_makes_pipeline_importable_with_its_data(tmp_path):
    target = tmp_path / "site"
    tree = tmp_path / "src"             # a copy: setuptools writes build/ and *.egg-info next to it
    shutil.copytree(ROOT / "pipeline", tree / "pipeline", ignore=shutil.ignore_patterns("__pycache__"))
    for name in ("pyproject.toml", "README.md", "requirements.txt"):
        shutil.copy(ROOT / name, tree / name)
    build = subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-build-isolation",
         "--no-index", "--target", str(target), str(tree)],
        capture_output=True, text=True, timeout=300, cwd=tmp_path)
    assert build.returncode == 0, build.stdout + build.stderr
    installed = {p.relative_to(target).as_posix() for p in (target / "pipeline").rglob("*") if p.is_file()}
    source = {p.relative_to(ROOT).as_posix() for p in (ROOT / "pipeline").rglob("*")
              if p.is_file() and "__pycache__" not in p.parts}
    assert source <= installed, sorted(source - installed)
    # imported from the installed copy, in a folder without the repository
    probe = ("import pipeline, pipeline.outputs.report as r, pipeline.imaging.overlays, pipeline.tasks;"
             "print(pipeline.__file__);"
             "print(r.TEMPLATES.joinpath('report.html.j2').is_file())")
    result = subprocess.run([sys.executable, "-S", "-c", f"import sys; sys.path[:0] = {[str(target)] + _site()!r}; {probe}"],
                            capture_output=True, text=True, timeout=60, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    path, has_template = result.stdout.split()
    assert Path(path).is_relative_to(target) and has_template == "True"
    info = target / "image_derivative_pipeline-0.1.0.dist-info"
    requires = [line.split(":", 1)[1].strip() for line in (info / "METADATA").read_text().splitlines()
                if line.startswith("Requires-Dist:")]
    assert requires == requirement_lines(ROOT / "requirements.txt")


def _site() -> list[str]:
    """The venv's site-packages (the dependencies), without the repository on the path."""
    return [p for p in sys.path if p.endswith("site-packages")]
