"""Loaded by every Python process started with this folder on PYTHONPATH (run.py
--cprofile): SIGUSR1 starts cProfile in the process's main thread (its event loop),
SIGUSR2 stops it and writes the stats to $BENCH_CPROFILE_DIR/<pid>.prof."""

import cProfile
import os
import signal

_profile = cProfile.Profile()


def _start(*_: object) -> None:
    _profile.enable()


def _stop(*_: object) -> None:
    _profile.disable()
    _profile.dump_stats(os.path.join(os.environ["BENCH_CPROFILE_DIR"], f"{os.getpid()}.prof"))


if os.environ.get("BENCH_CPROFILE_DIR"):
    signal.signal(signal.SIGUSR1, _start)
    signal.signal(signal.SIGUSR2, _stop)
