"""Print where `meson install` puts the package: the first of this
interpreter's site directories under PREFIX (argv[1]), so that `import
storagebox` finds it without PYTHONPATH; else FALLBACK (argv[2], meson's
choice), for a prefix the interpreter does not search."""

import os
import site
import sys


def main():
    prefix = os.path.normpath(sys.argv[1])
    for d in site.getsitepackages():
        if os.path.normpath(d).startswith(prefix + os.sep):
            print(d)
            return
    print(sys.argv[2])


main()
