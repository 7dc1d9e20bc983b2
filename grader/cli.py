"""The ``course`` command line: build, release, train, grade.

    course build [--check]              regenerate exercises/ from solutions/
    course release DEST                 write a student copy without solutions
    course train {cnn,keras} [--target solutions] [--epochs 5] [--seed 0]
    course grade SUBMISSIONS --out RESULTS [--workers N | --cluster local:N|tcp://HOST:PORT|FILE.json]
                 [--timeout S] [--memory MB] [--force] [--similarity]
    course similarity SUBMISSIONS --out REPORT [--top N]   the most alike code, per module
    course notebooks [--check]          regenerate notebooks/ from solutions/ and the lesson text
    course autograder [--out ZIP]       build the otter/Gradescope autograder (deterministic zip)
    course extract NOTEBOOK DEST        write a notebook's exercise code to DEST/<module>.py
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Callable

from grader.errors import CourseError
from grader.tf_runtime import QUIET_ENV

for _name, _value in QUIET_ENV.items():
    os.environ.setdefault(_name, _value)


def _build(args: argparse.Namespace) -> int:
    from grader.authoring.solution_markers import build_exercises, exercises_up_to_date
    from grader.paths import EXERCISES_DIR, SOLUTIONS_DIR

    if args.check:
        stale = exercises_up_to_date(SOLUTIONS_DIR, EXERCISES_DIR)
        if stale:
            print(f"exercises/ is out of date: {', '.join(stale)} (run `course build`)", file=sys.stderr)
            return 1
        print("exercises/ matches a fresh build of solutions/")
        return 0
    written = build_exercises(SOLUTIONS_DIR, EXERCISES_DIR)
    print(f"wrote {len(written)} exercise stubs to {EXERCISES_DIR}")
    return 0


def _release(args: argparse.Namespace) -> int:
    from grader.authoring.release import ReleaseError, check_release, write_release
    from grader.launch import list_checks

    checks = list_checks()
    written = write_release(Path(args.destination), checks)
    try:
        check_release(Path(args.destination), checks)
    except ReleaseError as error:
        print(f"course release: {error}", file=sys.stderr)
        return 1
    print(f"wrote a student release of {len(written)} files to {args.destination} "
          "(no solution code, no withheld check)")
    return 0


def _train(args: argparse.Namespace) -> int:
    from grader.tf_runtime import import_tensorflow

    import_tensorflow()  # before the target's modules import it: no start-up log lines
    from grader import train_pipeline
    from grader.target import Target, resolve_target

    target = Target(resolve_target(args.target))
    trainer = train_pipeline.train_cnn if args.model == "cnn" else train_pipeline.train_keras
    try:
        history = trainer(target, epochs=args.epochs, seed=args.seed)
    except NotImplementedError as error:
        print(f"course train: {error}. Finish that exercise first (`pytest grader/` shows what is left).",
              file=sys.stderr)
        return 1
    final = history[-1]["test_accuracy"]
    bar = 0.98 if args.model == "cnn" else 0.97
    print(f"final test accuracy {final:.2%} (the lesson's bar: {bar:.0%})")
    return 0


def _notebooks(args: argparse.Namespace) -> int:
    from grader.authoring.notebooks import notebooks_up_to_date, write_notebooks

    if args.check:
        stale = notebooks_up_to_date()
        if stale:
            print(f"notebooks out of date: {', '.join(stale)} (run `course notebooks`)", file=sys.stderr)
            return 1
        print("notebooks/ matches a fresh build of solutions/ and the lesson text")
        return 0
    written = write_notebooks()
    for path in written:
        print(f"wrote {path}")
    return 0


def _autograder(args: argparse.Namespace) -> int:
    from grader.authoring.otter_build import DEFAULT_OUTPUT, build_autograder

    path = build_autograder(Path(args.out) if args.out else DEFAULT_OUTPUT)
    print(f"wrote {path} (upload it to Gradescope; grade locally with "
          f"`mkdir -p OUT && otter run -a {path} -o OUT SUBMISSION.ipynb`)")
    return 0


def _extract(args: argparse.Namespace) -> int:
    from grader.notebook.extract import extract_modules

    modules = extract_modules(Path(args.submission), Path(args.destination))
    print(f"wrote {len(modules)} module(s) to {args.destination}: {', '.join(modules) or 'none'}; "
          f"grade them with `pytest grader/ --target {args.destination}`")
    return 0


def _grade(args: argparse.Namespace) -> int:
    from grader.bulk import Settings, grade_class

    if not Path(args.submissions).is_dir():
        raise CourseError(f"{args.submissions} is not a folder of submissions")
    settings = Settings(out=Path(args.out).resolve(), call_timeout=args.timeout, memory_mb=args.memory,
                        student_timeout=args.student_timeout)
    try:
        summary = grade_class(Path(args.submissions), settings, workers=args.workers, force=args.force,
                              similarity=args.similarity, cluster=args.cluster)
    except KeyboardInterrupt:
        print("course grade: interrupted; the gradebook lists the students finished so far "
              "(run the same command again to grade the rest)", file=sys.stderr)
        return 130
    statuses = ", ".join(f"{count} {name}" for name, count in summary["statuses"].items() if count)
    print(f"{summary['count']} students in {settings.out} ({statuses or 'none'}; "
          f"{summary['skipped']} already graded before this run); mean {summary['mean']}, median "
          f"{summary['median']}; see gradebook.csv, summary.md and summary.html")
    if summary["changes"]:
        from grader.bulk.changes import Change, headline

        print(f"{headline([Change.from_json(change) for change in summary['changes']])}: see changes.md")
    if args.similarity and summary["similarity"]:
        pairs = summary["similarity"]["pairs"]
        print(f"similarity: {len(pairs)} pair{'s' * (len(pairs) != 1)} at or above the thresholds; "
              f"see {summary['similarity']['report']}")
    for gap in summary["sandbox_not_applied"]:
        print(f"course grade: warning: sandbox protection not applied on this machine: {gap}", file=sys.stderr)
    for ident, error in summary["failed"].items():
        print(f"course grade: {ident} could not be graded: {error}", file=sys.stderr)
    return 1 if summary["failed"] else 0


def _similarity(args: argparse.Namespace) -> int:
    from grader.bulk.similarity import write_report

    submissions, out = Path(args.submissions), Path(args.out)
    if not submissions.is_dir():
        raise CourseError(f"{args.submissions} is not a folder of submissions")
    if out.resolve() == submissions.resolve():
        raise CourseError(f"the report folder cannot be the submissions folder ({out})")
    report = write_report(submissions, out, skip=out, top=args.top)
    for module in report["modules"]:
        if module["excluded"]:
            print(f"{module['module']}: not judged ({module['excluded']})")
            continue
        highest = "-" if module["highest"] is None else f"{module['highest']:.3f}"
        print(f"{module['module']}: {module['pairs_above']} of {module['pairs_compared']} pairs at or above "
              f"{module['threshold']:g} (highest {highest})")
    print(f"{report['students']} students compared; see {out / 'similarity.html'} and {out / 'similarity.json'}")
    return 0


def _cluster(text: str):
    """An argparse type: ``--cluster``'s value (``grader.bulk.cluster.parse_cluster``)."""
    from grader.bulk.cluster import parse_cluster

    try:
        return parse_cluster(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def _positive(kind: type) -> Callable[[str], float]:
    """An argparse type: a number of ``kind`` above 0."""

    def parse(text: str):
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
        if not value > 0:
            raise argparse.ArgumentTypeError(f"{text} must be above 0")
        return value

    return parse


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="course", description="MNIST course tools")
    commands = parser.add_subparsers(dest="command", required=True)

    build = commands.add_parser("build", help="regenerate exercises/ from solutions/")
    build.add_argument("--check", action="store_true", help="only check that exercises/ is up to date")
    build.set_defaults(handler=_build)

    release = commands.add_parser("release", help="write a student copy without solutions")
    release.add_argument("destination")
    release.set_defaults(handler=_release)

    train = commands.add_parser("train", help="train the lesson's CNN or Keras model end to end")
    train.add_argument("model", choices=("cnn", "keras"))
    train.add_argument("--target", default="exercises", help="exercises (default), solutions, or a folder")
    train.add_argument("--epochs", type=int, default=5)
    train.add_argument("--seed", type=int, default=0)
    train.set_defaults(handler=_train)

    notebooks = commands.add_parser("notebooks", help="regenerate the student and instructor notebooks")
    notebooks.add_argument("--check", action="store_true", help="only check that notebooks/ is up to date")
    notebooks.set_defaults(handler=_notebooks)

    autograder = commands.add_parser("autograder", help="build the otter/Gradescope autograder zip")
    autograder.add_argument("--out", default=None, help="zip to write (default: dist/autograder.zip)")
    autograder.set_defaults(handler=_autograder)

    extract = commands.add_parser("extract", help="write a notebook's exercise code to a folder of modules")
    extract.add_argument("submission", help="a course notebook (.ipynb) or its .py export")
    extract.add_argument("destination", help="folder for the <module>.py files")
    extract.set_defaults(handler=_extract)

    grade = commands.add_parser("grade", help="grade a folder of submissions (one folder, .zip or .ipynb each)")
    grade.add_argument("submissions", help="folder with one entry per student; the entry's name is the id")
    grade.add_argument("--out", required=True, help="results folder (gradebook.csv, summary.md, <id>/...)")
    where = grade.add_mutually_exclusive_group()
    where.add_argument("--workers", type=_positive(int), default=1,
                       help="students graded at the same time by this machine's pool (default 1)")
    where.add_argument("--cluster", type=_cluster, default=None,
                       help="grade on Dask instead: local:N (N processes here), tcp://HOST:PORT (a running "
                            "scheduler) or a scheduler file (.json); needs pip install -e '.[cluster]'")
    grade.add_argument("--timeout", type=_positive(float), default=30.0,
                       help="seconds one call into student code may take (default 30; training gets 600)")
    grade.add_argument("--memory", type=_positive(int), default=4096,
                       help="MB of data memory per worker (default 4096; TensorFlow alone needs about 2000)")
    grade.add_argument("--student-timeout", type=_positive(float), default=1800.0,
                       help="seconds the whole grading of one student may take (default 1800)")
    grade.add_argument("--force", action="store_true",
                       help="grade again students already graded (and list whose totals changed: changes.md)")
    grade.add_argument("--similarity", action="store_true",
                       help="also compare the students' code into RESULTS/similarity/ (as `course similarity`)")
    grade.set_defaults(handler=_grade)

    similarity = commands.add_parser("similarity", help="the pairs of students whose code is most alike, per module")
    similarity.add_argument("submissions", help="folder with one entry per student (as for `course grade`)")
    similarity.add_argument("--out", required=True, help="report folder (similarity.html, similarity.json)")
    similarity.add_argument("--top", type=_positive(int), default=10,
                            help="pairs shown per module, best first (default 10)")
    similarity.set_defaults(handler=_similarity)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run one ``course`` command; its ``CourseError`` becomes ``course CMD: message``, exit 2."""
    args = build_parser().parse_args(argv)
    try:
        return args.handler(args)
    except CourseError as error:
        print(f"course {args.command}: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
