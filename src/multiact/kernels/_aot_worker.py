"""A worker of ``multiact compile`` (``kernels/aot.py``): reads a pickled list of
``(key, tech, spec, target)`` from standard input, compiles each, writes one JSON
line ``[key, ok, seconds, error]`` per kernel to standard output (and nothing
else: what compilers print is captured around each compile)."""

import json
import os
import pickle
import sys

from multiact.kernels import aot


def main(directory):
    jobs = pickle.load(sys.stdin.buffer)
    results = os.fdopen(os.dup(1), "w")
    for job in jobs:
        for key, ok, seconds, err in aot._compile_batch([job], directory):
            results.write(json.dumps([key, ok, seconds, err]) + "\n")
            results.flush()
    results.close()


if __name__ == "__main__":
    main(sys.argv[1])
