"""Writes a tiny pure-Python wheel into a wheelhouse directory.

The conformance image proves the offline path an environment image takes:
requirements installed with `pip install --no-index --find-links WHEELHOUSE`.
No registry and no build backend are involved: a wheel is a zip archive with
a dist-info directory (PEP 427), written here with the standard library.
Usage: python3 make_wheel.py WHEELHOUSE
"""
import base64
import hashlib
import os
import sys
import zipfile

NAME, VERSION = "debugenv_probe", "1.0"
FILES = {
    f"{NAME}/__init__.py": b'OK = "wheelhouse ok"\n',
    f"{NAME}-{VERSION}.dist-info/METADATA": (
        f"Metadata-Version: 2.1\nName: debugenv-probe\nVersion: {VERSION}\n"
    ).encode(),
    f"{NAME}-{VERSION}.dist-info/WHEEL": (
        b"Wheel-Version: 1.0\nGenerator: make_wheel.py\nRoot-Is-Purelib: true\nTag: py3-none-any\n"
    ),
}


def record_line(path, data):
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    return f"{path},sha256={digest},{len(data)}\n"


def main():
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    record_path = f"{NAME}-{VERSION}.dist-info/RECORD"
    record = "".join(record_line(p, d) for p, d in FILES.items()) + f"{record_path},,\n"
    wheel = os.path.join(out, f"{NAME}-{VERSION}-py3-none-any.whl")
    with zipfile.ZipFile(wheel, "w", zipfile.ZIP_DEFLATED) as z:
        for path, data in FILES.items():
            z.writestr(path, data)
        z.writestr(record_path, record)
    print(wheel)


main()
