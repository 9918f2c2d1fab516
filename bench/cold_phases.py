"""Where the time of a cold index build goes: each step over every blob, and the phases of
a two-process build, in CPU seconds (``python -m bench --only cold_phases``).

- steps (one process, one pass each over all the head's blobs, collector off): the tree diff
  from nothing, reading each blob, YAML (``yamltext.parse``), YAML + validation
  (``configfile.load``), naming the entry (``paths.parse_entry_path``); µs per file;
- phases of the build ``Index.refresh`` runs from nothing with a worker: the tree diff, this
  process's half parsed while the worker parses the other (listing what to parse included),
  the worker's rows read, the builder; this process's CPU, and the worker's.

Each figure is the median of ``runs`` fresh processes. Progress goes to stderr.
"""

from __future__ import annotations

import statistics

from bench.repogen import make_repo
from bench.tools import Settings, Table, progress, run_script, standalone, work_dir

_STEPS = """
import gc, json, sys, time
from gitconfig.core import configfile, paths, yamltext
from gitconfig.store.gitstore import GitStore
gc.disable()
store = GitStore(sys.argv[1], fsync=False)
head = store.head()
cpu = time.process_time
out = {}
started = cpu(); changes = store.diff(None, head); out["tree diff"] = cpu() - started
started = cpu(); blobs = [store.read_blob(c.new_blob) for c in changes]
out["read the blob"] = cpu() - started
started = cpu(); [yamltext.parse(b) for b in blobs]; out["YAML"] = cpu() - started
started = cpu(); [configfile.load(b, {}) for b in blobs]
out["YAML + validation"] = cpu() - started
started = cpu(); [paths.parse_entry_path(c.path) for c in changes]
out["the entry's path"] = cpu() - started
print(json.dumps({k: v / len(changes) * 1e6 for k, v in out.items()}))
"""

_PHASES = """
import gc, json, resource, sys, time
from gitconfig.index import prefetch
from gitconfig.index.builder import Builder
from gitconfig.index.refresher import Index, _head_files
from gitconfig.index.snapshot import EMPTY
from gitconfig.store.gitstore import GitStore
gc.disable()
store = GitStore(sys.argv[1], fsync=False)
index = Index(store)
head = store.head()
cpu = time.process_time
marks = [cpu()]
chain = store.first_parent_chain(head, None)
diffs = [store.diff(commit.parent, commit.sha) for commit in chain]
marks.append(cpu())
take = prefetch._take
def timed_take(*args):
    marks.append(cpu())
    return take(*args)
prefetch._take = timed_take
prefetch.prefetch(_head_files(diffs), store.read_blob, index._parsed, index._prefetch_one, 1)
marks.append(cpu())
builder = Builder(EMPTY, index._parse, store.read_blob)
for commit, changes in zip(chain, diffs):
    builder.apply_commit(commit, changes)
builder.finish(head)
marks.append(cpu())
names = ["tree diff", "own half parsed (worker in parallel)", "worker's rows read", "builder"]
out = {name: b - a for name, a, b in zip(names, marks, marks[1:])}
usage = resource.getrusage(resource.RUSAGE_CHILDREN)
out["the worker (its CPU)"] = usage.ru_utime + usage.ru_stime
print(json.dumps(out))
"""


def _medians(results: list[dict[str, float]]) -> dict[str, float]:
    return {name: statistics.median(r[name] for r in results) for name in results[0]}


def run(settings: Settings) -> list[Table]:
    size = 10_000 if settings.quick else 100_000
    runs = 3
    work = work_dir()
    repo = work / f"cold-{size}.git"
    if not repo.exists():
        progress(f"generating {size:,} files")
        make_repo(repo, size)
    steps = _medians([run_script(_STEPS, str(repo)) for _ in range(runs)])
    phases = _medians([run_script(_PHASES, str(repo)) for _ in range(runs)])
    return [
        Table(
            f"Cold build, {size:,} files: each step over every blob",
            ["step", "µs per file (median)"],
            [[name, f"{value:.2f}"] for name, value in steps.items()],
            [f"median of {runs} fresh processes, one pass each, collector off; CPU time"],
        ),
        Table(
            f"Cold build, {size:,} files: the phases of a two-process build",
            ["phase", "CPU s (median)"],
            [[name, f"{value:.2f}"] for name, value in phases.items()],
            [
                f"median of {runs} fresh processes; this process's CPU per phase, then the "
                "forked worker's; the parse phase is the only one both cores share"
            ],
        ),
    ]


if __name__ == "__main__":
    raise SystemExit(standalone(run))
