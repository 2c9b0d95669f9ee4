"""Loading libstoragebox with ctypes and declaring its functions.

Where the library comes from, first found wins:

1. ``$STORAGEBOX_LIB``, a path to ``libstoragebox.so``;
2. the path meson wrote into ``_libpath.py`` (the installed library for an
   installed package, the build tree's for ``PYTHONPATH=BUILD/python``);
3. the dynamic linker's search (``ctypes.util.find_library``).

``CDLL`` (not ``PyDLL``): every call releases the GIL, so threads claim in
parallel while one waits for its store.
"""

import ctypes
import ctypes.util
import os
from ctypes import (CFUNCTYPE, POINTER, Structure, c_char_p, c_int, c_int64,
                    c_size_t, c_uint, c_uint64, c_void_p)
from typing import List, Optional, Tuple

#: The oldest library this package works with (sb_version()).
MIN_VERSION: Tuple[int, int, int] = (0, 2, 0)  # holds, 6-field sb_stats

_HOW_TO = ('Install the library (meson install from the storagebox source '
           'installs it with this package), or set STORAGEBOX_LIB to the path '
           'of libstoragebox.so (in a build tree: BUILD/libstoragebox.so)')


class OpenOpts(Structure):
    """sb_open_opts."""
    _fields_ = [('version', c_uint), ('ledger_uri', c_char_p),
                ('protocol', c_int)]


class CStats(Structure):
    """sb_stats."""
    _fields_ = [('available', c_uint64), ('reserved', c_uint64),
                ('assigned', c_uint64), ('held', c_uint64),
                ('on_hold', c_uint64), ('retired', c_uint64)]


class CAddResult(Structure):
    """sb_add_result."""
    _fields_ = [('added', c_uint64), ('skipped', c_uint64)]


class RecoverOpts(Structure):
    """sb_recover_opts."""
    _fields_ = [('version', c_uint), ('min_age_ms', c_int64)]


class InitOpts(Structure):
    """sb_init_opts."""
    _fields_ = [('version', c_uint), ('flags', c_uint)]


class CRecoverResult(Structure):
    """sb_recover_result."""
    _fields_ = [('settled', c_uint64), ('put_back', c_uint64),
                ('foreign', c_uint64), ('lapsed', c_uint64),
                ('released', c_uint64)]


ERRMSG_SIZE = 512  # SB_ERRMSG_SIZE
OPEN_OPTS_VERSION = 1
RECOVER_OPTS_VERSION = 1
INIT_OPTS_VERSION = 1
INIT_UPGRADE = 1  # SB_INIT_UPGRADE
PROTOCOLS = {'auto': 0, 'generic': 1}

EXPORT_CB = CFUNCTYPE(c_int, c_char_p, c_char_p, c_char_p, c_void_p)
EXPORT_HOLD_CB = CFUNCTYPE(c_int, c_char_p, c_char_p, c_char_p, c_int64,
                           c_void_p)
RELEASE_RESTOCK = 0  # SB_RELEASE_RESTOCK
RELEASE_RETIRE = 1   # SB_RELEASE_RETIRE
MAX_TTL_MS = 30 * 24 * 3600 * 1000  # SB_MAX_TTL_MS

_box = c_void_p
_item = c_void_p
_out_item = POINTER(c_void_p)

# name: (restype, argtypes). Every one of them must be there.
_FUNCS = {
    'sb_version': (c_char_p, []),
    'sb_strerror': (c_char_p, [c_int]),
    'sb_backend_list': (c_size_t, [POINTER(c_char_p), c_size_t]),
    'sb_box_open': (c_int, [POINTER(c_void_p), c_char_p, POINTER(OpenOpts),
                            c_char_p, c_size_t]),
    'sb_box_close': (None, [_box]),
    'sb_box_errmsg': (c_char_p, [_box]),
    'sb_box_init': (c_int, [_box, c_char_p, c_char_p]),
    'sb_box_init_opts': (c_int, [_box, c_char_p, c_char_p,
                                 POINTER(InitOpts)]),
    'sb_box_add': (c_int, [POINTER(CAddResult), _box, c_char_p,
                           POINTER(c_char_p), c_size_t]),
    'sb_box_fetch': (c_int, [_out_item, _box, c_char_p, c_char_p, c_char_p]),
    'sb_box_lookup': (c_int, [_out_item, _box, c_char_p, c_char_p]),
    'sb_box_stats': (c_int, [POINTER(CStats), _box, c_char_p, c_char_p]),
    'sb_box_export': (c_int, [_box, c_char_p, EXPORT_CB, c_void_p]),
    'sb_box_recover': (c_int, [POINTER(CRecoverResult), _box, c_char_p,
                               c_char_p, POINTER(RecoverOpts)]),
    'sb_box_hold': (c_int, [_out_item, _box, c_char_p, c_char_p, c_char_p,
                            c_int64]),
    'sb_box_confirm': (c_int, [_box, c_char_p, c_char_p]),
    'sb_box_extend': (c_int, [_box, c_char_p, c_char_p, c_int64]),
    'sb_box_release': (c_int, [_box, c_char_p, c_char_p, c_uint]),
    'sb_box_export_holds': (c_int, [_box, c_char_p, EXPORT_HOLD_CB,
                                    c_void_p]),
    'sb_item_expires_ms': (c_int64, [_item]),
    'sb_item_value': (c_char_p, [_item]),
    'sb_item_bank': (c_char_p, [_item]),
    'sb_item_is_new': (c_int, [_item]),
    'sb_item_free': (None, [_item]),
}

# Functions of libraries newer than MIN_VERSION, declared when present.
_OPTIONAL: dict = {}


def parse_version(text: str) -> Tuple[int, ...]:
    """``'0.1.0'`` -> ``(0, 1, 0)``; anything after a number's digits
    (``'1.2.3-rc1'``) is ignored. Raises ValueError for no number at all."""
    parts = []
    for part in text.split('.'):
        digits = ''
        for ch in part:
            if not ch.isdigit():
                break
            digits += ch
        if not digits:
            break
        parts.append(int(digits))
    if not parts:
        raise ValueError('no version number in %r' % text)
    return tuple(parts)


def check_version(text: str, path: str) -> None:
    """Raise ImportError unless library version @text is MIN_VERSION or
    newer."""
    try:
        have = parse_version(text)
    except ValueError:
        raise ImportError('storagebox: %s reports the version %r, which is '
                          'not a version number. %s.' % (path, text, _HOW_TO))
    if have < MIN_VERSION:
        raise ImportError(
            'storagebox: %s is version %s; this package needs %s or newer. '
            '%s.' % (path, text, '.'.join(map(str, MIN_VERSION)), _HOW_TO))


def _candidates() -> List[Tuple[str, str]]:
    """(path, where it came from), in the order they are tried."""
    env = os.environ.get('STORAGEBOX_LIB')
    if env:
        return [(env, 'STORAGEBOX_LIB')]  # set: nothing else is tried
    out = []
    try:
        from ._libpath import LIBPATH
    except ImportError:  # a copy of the sources that meson did not build
        LIBPATH = ''
    if LIBPATH and not LIBPATH.startswith('@'):
        out.append((LIBPATH, 'the path meson installed'))
    found = ctypes.util.find_library('storagebox')
    if found:
        out.append((found, 'the dynamic linker'))
    return out


def _declare(lib: ctypes.CDLL, path: str) -> None:
    for name, (restype, argtypes) in _FUNCS.items():
        try:
            fn = getattr(lib, name)
        except AttributeError:
            raise ImportError('storagebox: %s has no %s(): not libstoragebox, '
                              'or one too old for this package. %s.'
                              % (path, name, _HOW_TO)) from None
        fn.restype = restype
        fn.argtypes = argtypes
    for name, (restype, argtypes) in _OPTIONAL.items():
        fn = getattr(lib, name, None)
        if fn is not None:
            fn.restype = restype
            fn.argtypes = argtypes


def load() -> Tuple[ctypes.CDLL, str]:
    """The library and its path, or ImportError saying what to install or
    set."""
    tried = []
    for path, where in _candidates():
        try:
            lib = ctypes.CDLL(path)
        except OSError as e:
            tried.append('%s (%s): %s' % (path, where, e))
            continue
        _declare(lib, path)
        check_version(lib.sb_version().decode('ascii', 'replace'), path)
        return lib, path
    raise ImportError('storagebox: cannot load the C library libstoragebox'
                      + (' (tried %s)' % '; '.join(tried) if tried else
                         ' (no STORAGEBOX_LIB, no installed path, and the '
                         'dynamic linker does not know it)')
                      + '. ' + _HOW_TO + '.')


lib, path = load()


def has(name: str) -> bool:
    """Whether the loaded library has the C function @name."""
    return getattr(lib, name, None) is not None


def version() -> str:
    """The C library's version string."""
    return lib.sb_version().decode('ascii', 'replace')


def schemes() -> List[str]:
    """URI schemes the loaded library can open."""
    n = lib.sb_backend_list(None, 0)
    names = (c_char_p * n)()
    lib.sb_backend_list(names, n)
    return [names[i].decode('utf-8', 'replace') for i in range(n)]


def errmsg(box: Optional[int]) -> str:
    """The last message of a C box."""
    msg = lib.sb_box_errmsg(box)
    return msg.decode('utf-8', 'replace') if msg else ''
