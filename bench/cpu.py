"""Who else uses the CPUs: the benchmark shares a noisy 2-core machine with other tenants.

``busy_percent`` samples /proc/stat before anything is started; ``foreign_cpu_ticks`` sums
the CPU time of every process that is neither ours (a descendant of this process) nor a kernel
thread, so that the difference of two readings is what others took during a run.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

TICKS_PER_SECOND = os.sysconf("SC_CLK_TCK")
_PF_KTHREAD = 0x00200000


def busy_percent(seconds: float = 1.0) -> float:
    """How busy all CPUs are over ``seconds`` (from /proc/stat), before we load anything."""

    def sample() -> tuple[int, int]:
        fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
        idle = fields[3] + fields[4]  # idle + iowait
        return sum(fields), idle

    try:
        total0, idle0 = sample()
        time.sleep(seconds)
        total1, idle1 = sample()
    except (OSError, ValueError, IndexError):
        return float("nan")
    return 100.0 * (1 - (idle1 - idle0) / max(1, total1 - total0))


def _proc_stats() -> dict[int, tuple[int, int, bool]]:
    """pid -> (ppid, CPU ticks incl. reaped children, is a kernel thread) from /proc."""
    stats: dict[int, tuple[int, int, bool]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            text = (entry / "stat").read_text()
        except OSError:
            continue  # exited meanwhile
        fields = text[text.rindex(")") + 2 :].split()
        ticks = sum(int(f) for f in fields[11:15])  # utime stime cutime cstime
        stats[int(entry.name)] = (int(fields[1]), ticks, bool(int(fields[6]) & _PF_KTHREAD))
    return stats


def foreign_cpu_ticks() -> int:
    """CPU ticks used so far by processes that are neither ours (descendants) nor the kernel's.

    The difference of two readings is what other tenants of the machine took meanwhile.
    """
    try:
        stats = _proc_stats()
    except OSError:
        return 0
    ours = _tree(stats, os.getpid())
    parents = {os.getppid()}  # reaps nothing of ours until we exit
    return sum(
        ticks
        for pid, (_, ticks, kernel) in stats.items()
        if pid not in ours and pid not in parents and not kernel
    )


def descendant_ticks() -> int:
    """CPU ticks used so far by the live descendants of this process (the servers it
    started; a load generator it has already reaped is not among them)."""
    try:
        stats = _proc_stats()
    except OSError:
        return 0
    me = os.getpid()
    return sum(stats[pid][1] for pid in _tree(stats, me) if pid != me)


def _tree(stats: dict[int, tuple[int, int, bool]], root: int) -> set[int]:
    """``root`` and its live descendants, by the parent pids in ``stats``."""
    children: dict[int, list[int]] = {}
    for pid, (ppid, _, _) in stats.items():
        children.setdefault(ppid, []).append(pid)
    tree, todo = set(), [root]
    while todo:
        pid = todo.pop()
        tree.add(pid)
        todo.extend(children.get(pid, []))
    return tree
