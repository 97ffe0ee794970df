#!/usr/bin/env python3
"""CPU ticks (utime+stime, reaped children included) of every PostgreSQL process and of one mock-broker
process, for the benchmarks' "what the rest of the box spent" (scripts/bench-matrix.sh, scripts/bench-ab.sh).

  pg-mock-ticks.py MOCK_PID      prints `pg_ticks mock_ticks` (divide by `getconf CLK_TCK` for seconds)"""
import os, sys

mock_pid = sys.argv[1] if len(sys.argv) > 1 else "0"
pg = mock = 0
for p in filter(str.isdigit, os.listdir("/proc")):
    try:
        is_pg = open(f"/proc/{p}/comm").read().startswith("postgres")
        if is_pg or p == mock_pid:
            fields = open(f"/proc/{p}/stat").read().rsplit(")", 1)[1].split()
            ticks = sum(int(x) for x in fields[11:15])
            if is_pg:
                pg += ticks
            else:
                mock += ticks
    except OSError:
        pass  # the process ended between the listing and the read
print(pg, mock)
