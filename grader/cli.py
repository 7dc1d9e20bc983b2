"""The ``course`` command line: build, release, train, grade.

    course build [--check]              regenerate exercises/ from solutions/
    course release DEST                 write a student copy without solutions
    course train {cnn,keras} [--target solutions] [--epochs 5] [--seed 0]
    course grade SUBMISSIONS --out RESULTS [--workers N] [--timeout S] [--memory MB] [--force]
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def _build(args: argparse.Namespace) -> int:
    from grader.markers import MarkerError, build_exercises, exercises_up_to_date
    from grader.paths import EXERCISES_DIR, SOLUTIONS_DIR

    try:
        if args.check:
            stale = exercises_up_to_date(SOLUTIONS_DIR, EXERCISES_DIR)
            if stale:
                print(f"exercises/ is out of date: {', '.join(stale)} (run `course build`)", file=sys.stderr)
                return 1
            print("exercises/ matches a fresh build of solutions/")
            return 0
        written = build_exercises(SOLUTIONS_DIR, EXERCISES_DIR)
    except MarkerError as error:
        print(f"course build: {error}", file=sys.stderr)
        return 2
    print(f"wrote {len(written)} exercise stubs to {EXERCISES_DIR}")
    return 0


def _release(args: argparse.Namespace) -> int:
    from grader.release import leaked_solution_lines, write_release

    try:
        written = write_release(Path(args.destination))
    except FileExistsError as error:
        print(f"course release: {error}", file=sys.stderr)
        return 2
    leaks = leaked_solution_lines(Path(args.destination))
    if leaks:
        print(f"course release: reference code leaked into the release: {leaks[:3]}", file=sys.stderr)
        return 1
    print(f"wrote a student release of {len(written)} files to {args.destination} (no solution code)")
    return 0


def _train(args: argparse.Namespace) -> int:
    from grader import run
    from grader.target import Target, resolve_target

    target = Target(resolve_target(args.target))
    trainer = run.train_cnn if args.model == "cnn" else run.train_keras
    history = trainer(target, epochs=args.epochs, seed=args.seed)
    final = history[-1]["test_accuracy"]
    bar = 0.98 if args.model == "cnn" else 0.97
    print(f"final test accuracy {final:.2%} (the lesson's bar: {bar:.0%})")
    return 0


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
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return args.handler(args)


if __name__ == "__main__":
    sys.exit(main())
