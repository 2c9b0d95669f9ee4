#!/usr/bin/env python3
"""Print the soname of the shared library libNAME.so that the build links
against (meson.build: the backends load their client libraries by that
name at run time, core/dlib.h). Usage: soname.py NAME CC [LIBDIR...]:
LIBDIR/libNAME.so for each LIBDIR given (pkg-config's libdir), else where
the compiler CC finds it."""

import os
import subprocess
import sys


def main():
    name, cc, libdirs = sys.argv[1], sys.argv[2], sys.argv[3:]
    base = 'lib%s.so' % name
    paths = [os.path.join(d, base) for d in libdirs if d]
    found = subprocess.run([cc, '-print-file-name=' + base],
                           capture_output=True, text=True).stdout.strip()
    paths.append(found)
    for p in paths:
        if not os.path.isabs(p) or not os.path.exists(p):
            continue
        out = subprocess.run(['objdump', '-p', os.path.realpath(p)],
                             capture_output=True, text=True, check=True)
        for line in out.stdout.splitlines():
            f = line.split()
            if len(f) == 2 and f[0] == 'SONAME':
                print(f[1])
                return 0
    sys.stderr.write('soname.py: no %s with a SONAME in %s\n'
                     % (base, ', '.join(paths)))
    return 1


if __name__ == '__main__':
    sys.exit(main())
