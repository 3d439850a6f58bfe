# Run by pyship with the target interpreter to call a PEP 517 backend's hooks.
# argv: MODE ("wheel" or "metadata"), BACKEND ("module:object"), OUTPUT_DIR, RESULT_FILE.
# The backend's own output goes to stdout/stderr, which pyship shows on failure or with -v;
# the hook's answer (a wheel file name, or a .dist-info directory name) is written to
# RESULT_FILE so that chatty backends cannot confuse it.
import importlib
import sys

mode, backend_spec, output_dir, result_file = sys.argv[1:5]
module_name, _, object_path = backend_spec.partition(":")
backend = importlib.import_module(module_name.strip())
for attribute in filter(None, object_path.strip().split(".")):
    backend = getattr(backend, attribute)

if mode == "metadata" and hasattr(backend, "prepare_metadata_for_build_wheel"):
    answer = "metadata:" + backend.prepare_metadata_for_build_wheel(output_dir)
else:
    # PEP 517: without the optional hook, the frontend builds the wheel and reads it.
    answer = "wheel:" + backend.build_wheel(output_dir)

with open(result_file, "w", encoding="utf-8") as result:
    result.write(answer)
