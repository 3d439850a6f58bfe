# Run by pyship with the target interpreter: prints, as one JSON object, what pyship needs to
# know about it (PEP 508 marker values, version, ABI, glibc, paths). Keep it compatible with
# every Python 3 pyship may target, and free of third-party imports.
import json
import os
import platform
import sys
import sysconfig


def implementation_version():
    info = sys.implementation.version
    version = "{0.major}.{0.minor}.{0.micro}".format(info)
    if info.releaselevel != "final":
        version += info.releaselevel[0] + str(info.serial)
    return version


libc, libc_version = platform.libc_ver()
print(json.dumps({
    "markers": {
        "implementation_name": sys.implementation.name,
        "implementation_version": implementation_version(),
        "os_name": os.name,
        "platform_machine": platform.machine(),
        "platform_python_implementation": platform.python_implementation(),
        "platform_release": platform.release(),
        "platform_system": platform.system(),
        "platform_version": platform.version(),
        "python_full_version": platform.python_version(),
        "python_version": ".".join(platform.python_version_tuple()[:2]),
        "sys_platform": sys.platform,
    },
    "executable": sys.executable,
    "base_prefix": sys.base_prefix,
    "abiflags": getattr(sys, "abiflags", ""),
    "soabi": sysconfig.get_config_var("SOABI") or "",
    "pointer_bits": 64 if sys.maxsize > 2**32 else 32,
    "libc": libc,
    "libc_version": libc_version,
}))
