"""The scale benchmark's pure parts and its inputs, so `python -m bench.scale` cannot rot silently: the
fitted growth, the per-point summary, the N-model platform it writes (read by drkit's own manifest parser)
and the playbook (loaded by drkit's own loader). The benchmark itself runs only from the command line."""

from __future__ import annotations

import subprocess
from collections import Counter
from pathlib import Path

from bench import scale
from bench.scale_platform import write_artifact, write_base, write_playbook
from drkit.context import Runtime
from drkit.engine.usecases import load
from drkit.steps.sources import parse_manifests


def test_a_line_through_points_on_a_line_has_their_slope_and_fits_exactly() -> None:
    fit = scale.fit_line([(10, 7.0), (100, 16.0), (1000, 106.0)])  # 6 s + 0.1 s per Model
    assert fit == {"slope_seconds_per_model": 0.1, "intercept_seconds": 6.0, "r2": 1.0}
    assert scale.fit_line([(10, 1.0)]) == {}  # one point: no line


def test_the_growth_exponent_tells_linear_from_quadratic() -> None:
    assert scale.growth_exponent([(10, 2.0), (1000, 200.0)]) == 1.0
    assert scale.growth_exponent([(10, 2.0), (1000, 20_000.0)]) == 2.0
    assert scale.growth_exponent([(10, 2.0)]) is None


def _run(contender: str, wall: float, ok: bool = True, lists: int = 3) -> dict[str, object]:
    return {
        "contender": contender,
        "ok": ok,
        "wall_seconds": wall,
        "phases": {"teardown": wall / 4, "rebuild": wall / 2},
        "requests": {"total": 100, "by_verb": {"list": lists}},
    }


def test_a_point_summarises_good_runs_and_divides_baseline_by_drkit() -> None:
    runs = [_run("drkit", 10.0), _run("drkit", 12.0), _run("drkit", 99.0, ok=False), _run("baseline", 44.0)]
    point = scale.summarize_point(runs)
    assert point["drkit"]["wall_seconds"] == {"median": 11.0, "min": 10.0, "max": 12.0}
    assert point["drkit"]["requests.by_verb.get"]["median"] == 0.0  # a verb never used counts as none
    assert point["baseline_over_drkit"]["wall_seconds"] == 4.0
    growth = scale.growth({10: point, 100: scale.summarize_point([_run("drkit", 110.0)])})
    assert growth["drkit"]["exponent"] == 1.0
    assert "baseline" not in growth  # one size only


def test_the_platform_of_n_models_holds_five_objects_each_and_the_stuck_kinds(tmp_path: Path) -> None:
    manifest = write_base(tmp_path / "base", 3, write_artifact(tmp_path / "artifact"))
    objects = parse_manifests(manifest.read_text(encoding="utf-8"), str(manifest))
    kinds = Counter(o["kind"] for o in objects)
    assert kinds == {"Namespace": 1, "Server": 1, "Model": 3, "Experiment": 3, "Secret": 3, "ConfigMap": 3,
                     "ServiceAccount": 3}  # fmt: skip
    assert {o["metadata"].get("namespace") for o in objects if o["kind"] != "Namespace"} == {"scale-3"}
    model = next(o for o in objects if o["kind"] == "Model")
    assert (Path(model["spec"]["storageUri"]) / "MLmodel").is_file()
    assert any(o["metadata"]["name"] == model["spec"]["secretName"] for o in objects if o["kind"] == "Secret")


def test_the_playbook_loads_and_clears_only_the_stuck_kinds(tmp_path: Path, runtime: Runtime) -> None:
    write_base(tmp_path / "base", 3, write_artifact(tmp_path / "artifact"))
    playbook = load(write_playbook(tmp_path / "playbook.yaml", 3, "drkit-lab"), {}, runtime)
    steps = {s.name: s for phase in playbook.phases for s in phase.steps}
    assert list(steps) == ["delete-platform", "unstick-finalizers", "apply-platform"]
    assert steps["unstick-finalizers"].body["kinds"] == ["Model", "Experiment"]


def test_the_baseline_script_parses() -> None:
    result = subprocess.run(
        ["bash", "-n", str(scale.BASELINE_SCRIPT)], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr


def test_measuring_one_plane_again_replaces_its_figures_and_keeps_the_others() -> None:
    def result(plane: str, wall: float) -> dict[str, object]:
        return {
            "planes": {plane: {"date": str(wall)}},
            "points": [{"plane": plane, "n": 10, "drkit": {"wall_seconds": {"median": wall}}}],
            "runs": [{"plane": plane, "n": 10, "wall_seconds": wall}],
        }

    earlier = scale.merged({}, {**result("emulated", 1.0)})
    earlier = scale.merged(earlier, result("real", 2.0))
    again = scale.merged(earlier, result("emulated", 3.0))
    assert again["planes"] == {"real": {"date": "2.0"}, "emulated": {"date": "3.0"}}
    assert sorted((r["plane"], r["wall_seconds"]) for r in again["runs"]) == [
        ("emulated", 3.0),
        ("real", 2.0),
    ]
    by_plane = scale.points_by_plane(again)
    assert by_plane["emulated"][10]["drkit"]["wall_seconds"]["median"] == 3.0
    assert by_plane["real"][10]["drkit"]["wall_seconds"]["median"] == 2.0
