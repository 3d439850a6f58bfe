# Byte-compiles Python files as checked-hash pycs (PEP 552) beside them, in parallel.
# argv[1] names a JSON file: a list of [source path, path shown in tracebacks]. Prints one line
# per file that does not compile, and exits 1 when there is any.
import concurrent.futures
import json
import multiprocessing
import os
import py_compile
import sys


def compile_one(job):
    source, shown = job
    try:
        py_compile.compile(
            source,
            dfile=shown,
            doraise=True,
            invalidation_mode=py_compile.PycInvalidationMode.CHECKED_HASH,
        )
    except Exception as error:  # a module that does not compile is reported, not fatal
        return "%s: %s" % (shown, getattr(error, "msg", error))
    return None


def main():
    with open(sys.argv[1], encoding="utf-8") as jobs_file:
        jobs = json.load(jobs_file)
    workers = os.cpu_count() or 1
    if workers > 1 and len(jobs) > 200:
        # fork: the workers need no importable main module (this script runs with -c).
        context = multiprocessing.get_context("fork")
        with concurrent.futures.ProcessPoolExecutor(workers, mp_context=context) as pool:
            failures = [f for f in pool.map(compile_one, jobs, chunksize=100) if f]
    else:
        failures = [f for f in map(compile_one, jobs) if f]
    for failure in failures:
        print(failure)
    sys.exit(1 if failures else 0)


main()
