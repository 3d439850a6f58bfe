# Run by pyship with the target interpreter to call a PEP 517 backend's build_wheel hook.
# argv: BACKEND ("module:object"), OUTPUT_DIR, RESULT_FILE. The backend's own output goes to
# stdout/stderr, which pyship shows on failure or with -v; the wheel's file name is written
# to RESULT_FILE so that chatty backends cannot confuse the answer.
import importlib
import sys

backend_spec, output_dir, result_file = sys.argv[1:4]
module_name, _, object_path = backend_spec.partition(":")
backend = importlib.import_module(module_name.strip())
for attribute in filter(None, object_path.strip().split(".")):
    backend = getattr(backend, attribute)

wheel_name = backend.build_wheel(output_dir)

with open(result_file, "w", encoding="utf-8") as result:
    result.write(wheel_name)
