"""Run a command and write its peak RSS (kB) to the file named first: `_maxrss.py <file> <command...>`.

Linux keeps ru_maxrss across fork and exec (exec records the old memory's high-water mark), so a command forked
straight from benches/scale.py, which holds gigabytes by then, reported the benchmark's own size (5,192 MB for every
report). Forked from this small process instead, the command's figure is its own (floor: this process, ~10 MB).
"""

import os
import subprocess
import sys

if __name__ == "__main__":
    target, command = sys.argv[1], sys.argv[2:]
    process = subprocess.Popen(command)
    _, status, usage = os.wait4(process.pid, 0)
    with open(target, "w") as out:
        out.write(str(usage.ru_maxrss))
    sys.exit(os.waitstatus_to_exitcode(status))
