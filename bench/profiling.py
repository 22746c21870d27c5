"""py-spy profiles for the benchmarks: record a process tree, then summarize it as text.

`bench/web.py --profile DIR` records the gunicorn workers during each portal scenario.
Each recording is py-spy's raw collapsed stacks (`NAME.txt`: the input of flame-graph
viewers such as speedscope.app or inferno), and `summarize` turns it into the functions
with the largest share of samples, inclusive (anywhere on the stack) and exclusive
(on top of it): `python bench/profiling.py DIR/*.txt`.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

PY_SPY_HINT = "py-spy is not installed: it comes with the test extras (pip install -e '.[test]')"


def py_spy() -> str:
    """The py-spy executable beside this Python, or on PATH."""
    beside = Path(sys.executable).parent / "py-spy"
    found = str(beside) if beside.exists() else shutil.which("py-spy")
    if found is None:
        raise RuntimeError(PY_SPY_HINT)
    return found


@contextmanager
def recording(pid: int, out: Path, *, rate: int = 250) -> Iterator[None]:
    """Sample process `pid` and its children while the block runs.

    Writes `out.with_suffix('.txt')`: py-spy's raw collapsed stacks.
    """
    out.parent.mkdir(parents=True, exist_ok=True)
    raw = out.with_suffix(".txt")
    argv = [py_spy(), "record", "--pid", str(pid), "--subprocesses", "--nonblocking"]
    argv += ["--rate", str(rate), "--format", "raw", "--output", str(raw)]
    process = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        yield
    finally:
        process.send_signal(2)  # SIGINT: py-spy writes what it has and exits
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def read_stacks(raw: Path) -> Counter[tuple[str, ...]]:
    """py-spy raw output: one `frame;frame;… count` line per distinct stack."""
    stacks: Counter[tuple[str, ...]] = Counter()
    for line in raw.read_text(errors="replace").splitlines():
        stack, _, count = line.rpartition(" ")
        if stack and count.isdigit():
            # With --subprocesses the stacks start with the processes ("process 12:…"):
            # dropped, so the workers' samples add up.
            frames = tuple(_function(f) for f in stack.split(";") if not f.startswith("process "))
            stacks[frames] += int(count)
    return stacks


def _function(frame: str) -> str:
    """`name (file.py:12)` -> `name (file.py)`: aggregate a function over its lines."""
    name, sep, where = frame.partition(" (")
    if not sep:
        return frame
    return f"{name} ({where.rsplit(':', 1)[0].rstrip(')')})"


# Inclusive shares are listed for the project's own functions: the framework frames
# below them (gunicorn, click, Flask's dispatch) are on every stack and say nothing.
PROJECT_PACKAGES = ("portal/", "preferences/", "mailer/", "jobs/", "templates_email/")


def summarize(raws: Path | Sequence[Path], *, top: int = 15) -> list[str]:
    """The project functions with the largest inclusive share of samples (anywhere on the
    stack), and the functions of any package with the largest exclusive share (on top),
    over one recording or several added up (the workers of one pass)."""
    stacks: Counter[tuple[str, ...]] = Counter()
    for raw in [raws] if isinstance(raws, Path) else raws:
        stacks.update(read_stacks(raw))
    total = sum(stacks.values())
    if not total:
        return ["no samples"]
    inclusive: Counter[str] = Counter()
    exclusive: Counter[str] = Counter()
    for frames, count in stacks.items():
        for name in set(frames):
            if name.rsplit(" (", 1)[-1].startswith(PROJECT_PACKAGES):
                inclusive[name] += count
        if frames:
            exclusive[frames[-1]] += count
    lines = [f"{total} samples", "inclusive (project code):"]
    lines += [f"  {100 * n / total:5.1f}%  {name}" for name, n in inclusive.most_common(top)]
    lines.append("exclusive:")
    lines += [f"  {100 * n / total:5.1f}%  {name}" for name, n in exclusive.most_common(top)]
    return lines


if __name__ == "__main__":
    for path in sys.argv[1:]:
        print(path)
        print("\n".join(summarize(Path(path))))
