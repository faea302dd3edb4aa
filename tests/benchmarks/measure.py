"""Run a command and report its wall time, CPU time and peak RSS as one JSON line.

    python measure.py RESULT_FILE COMMAND [ARG ...]

The command inherits this process's stdin, stdout and stderr. The figures come from
`wait4` on the command's own process. Starting it from this small interpreter rather than
from the benchmark matters: Linux counts the RSS of the process that forked a child (until
the child's exec) into the child's peak RSS, and the benchmark holds the sandbox's pages.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path


def main(argv: list[str]) -> int:
    result_file, *command = argv
    started = time.perf_counter()
    child = subprocess.Popen(command)
    _, status, usage = os.wait4(child.pid, 0)
    seconds = time.perf_counter() - started
    child.returncode = os.waitstatus_to_exitcode(status)
    figures = {
        "seconds": seconds,
        "cpu_seconds": usage.ru_utime + usage.ru_stime,
        "max_rss_kib": usage.ru_maxrss,  # KiB on Linux
        "returncode": child.returncode,
    }
    Path(result_file).write_text(json.dumps(figures))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
