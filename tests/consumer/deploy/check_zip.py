"""Checks a Lambda deployment zip: `bootstrap` at its root, a regular file
with its executable bits set in the zip's Unix attributes (Lambda starts it
as is), and every other expected entry present.

usage: check_zip.py ZIP [ENTRY...]
"""
import stat
import sys
import zipfile


def main():
    path, expected = sys.argv[1], sys.argv[2:]
    with zipfile.ZipFile(path) as z:
        infos = {i.filename.rstrip("/"): i for i in z.infolist()}
    problems = []
    boot = infos.get("bootstrap")
    if boot is None:
        problems.append("no bootstrap at the root")
    else:
        mode = boot.external_attr >> 16
        if boot.create_system != 3:
            problems.append(f"bootstrap has no Unix attributes (create_system {boot.create_system})")
        if not stat.S_ISREG(mode):
            problems.append(f"bootstrap is not a regular file (mode {oct(mode)})")
        if mode & 0o111 != 0o111:
            problems.append(f"bootstrap is not executable (mode {oct(mode)})")
    for entry in expected:
        if entry not in infos:
            problems.append(f"no {entry}")
    size = sum(i.compress_size for i in infos.values())
    if problems:
        print(f"{path}: " + "; ".join(problems), file=sys.stderr)
        return 1
    print(f"{path}: ok, {len(infos)} entries, bootstrap mode {oct(boot.external_attr >> 16)}, "
          f"{size} compressed bytes")
    return 0


if __name__ == "__main__":
    sys.exit(main())
