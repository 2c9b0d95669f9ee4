"""The Pythonic API: :class:`Box`, :class:`Item` and the result tuples."""

import datetime
import os
import re
import threading
import weakref
from ctypes import byref, c_char_p, c_void_p, create_string_buffer
from typing import (Any, Callable, Iterable, Iterator, List, NamedTuple,
                    Optional, Set, Tuple, TypeVar)

from . import _lib
from .errors import (SB_EINVALID, SB_EMPTY, SB_ENOTFOUND, SB_OK,
                     InvalidArgument, StorageboxError, error_for)

_C = _lib.lib
_fetch = _C.sb_box_fetch
_lookup = _C.sb_box_lookup
_value = _C.sb_item_value
_bank = _C.sb_item_bank
_is_new = _C.sb_item_is_new
_free = _C.sb_item_free
_expires = _C.sb_item_expires_ms
_hold = _C.sb_box_hold

#: Items sent to the library per sb_box_add() call by :meth:`Box.add`.
ADD_BATCH = 10_000

_T = TypeVar('_T')

# ---------------------------------------------------------------- fork
# A forked child must never use, nor close, a C box of its parent: the two
# would share one connection (or one SQLite handle), and closing it in the
# child would end the parent's session with the server. Each C box records
# the generation it was opened in; the child bumps the generation, so it
# opens fresh boxes and leaves the parent's alone (never freed: they are
# copies of memory the parent owns).
_generation = 0


def _after_fork() -> None:
    global _generation
    _generation += 1


os.register_at_fork(after_in_child=_after_fork)


class Item(str):
    """An item handed out: the item's value as a ``str``, plus where it
    came from.

    Attributes:
        bank: the bank the item came from (with a ledger shared by several
            banks, not necessarily the bank that was asked).
        is_new: True if this call assigned it just now; False if the id
            already held it, or if it came from :meth:`Box.lookup`.
        expires_at: the deadline of a hold (an aware UTC ``datetime``), or
            None for an item that is the id's for good.
    """

    bank: str
    is_new: bool
    expires_at: Optional[datetime.datetime]

    def __new__(cls, value: str, bank: str, is_new: bool = False,
                expires_at: Optional[datetime.datetime] = None) -> 'Item':
        self = super().__new__(cls, value)
        self.bank = bank
        self.is_new = is_new
        self.expires_at = expires_at
        return self

    def __repr__(self) -> str:
        return 'Item(%s, bank=%r, is_new=%r%s)' % (
            str.__repr__(self), self.bank, self.is_new,
            '' if self.expires_at is None else
            ', expires_at=%r' % (self.expires_at,))

    def __reduce__(self):
        return (Item, (str(self), self.bank, self.is_new, self.expires_at))


class AddResult(NamedTuple):
    """What :meth:`Box.add` did."""
    added: int
    """new items, now available"""
    skipped: int
    """already in the bank (in any state), or repeated"""


class Stats(NamedTuple):
    """Counts of a bank (:meth:`Box.stats`). Items added = available +
    reserved + assigned + on_hold + retired, always."""
    available: int
    """can be handed out"""
    reserved: int
    """taken by a cross-store fetch still in flight, or one that died
    (:meth:`Box.recover` brings them back)"""
    assigned: int
    """handed out for good"""
    held: int
    """with a ledger: ids of that ledger holding an item of this bank"""
    on_hold: int
    """held until a deadline (:meth:`Box.hold`), lapsed ones included
    until something reclaims them"""
    retired: int
    """released for good (``release(..., retire=True)``)"""


class RecoverResult(NamedTuple):
    """What :meth:`Box.recover` did."""
    settled: int
    """the ledger holds the item: now assigned"""
    put_back: int
    """the id holds another item: available again"""
    foreign: int
    """reserved for another ledger: left alone"""
    lapsed: int
    """lapsed holds reclaimed: available again"""
    released: int
    """releases a dead client left half done, finished"""


class Assignment(NamedTuple):
    """One line of :meth:`Box.export`."""
    dedup_id: str
    bank: str
    item: str


class Hold(NamedTuple):
    """One live hold (:meth:`Box.export_holds`)."""
    dedup_id: str
    bank: str
    item: str
    expires_at: datetime.datetime


def _enc(value: Any, what: str) -> bytes:
    """A str argument as the library takes it (UTF-8, NUL-terminated)."""
    try:
        data = value.encode('utf-8')
    except AttributeError:
        raise TypeError('%s must be a str, not %s'
                        % (what, type(value).__name__)) from None
    except UnicodeEncodeError as e:
        raise InvalidArgument(SB_EINVALID, '%s is not valid Unicode text: %s'
                              % (what, e.reason)) from None
    if b'\0' in data:
        # ctypes would cut the string at the NUL; the library refuses NUL.
        raise InvalidArgument(SB_EINVALID, '%s contains a NUL character'
                              % what)
    return data


def _enc_opt(value: Optional[str], what: str) -> Optional[bytes]:
    return None if value is None else _enc(value, what)


def _item(out: c_void_p) -> Item:
    """An Item from a C item, which is freed."""
    try:
        ms = _expires(out)
        expires = _when(ms) if ms > 0 else None
        return Item(_value(out).decode('utf-8'), _bank(out).decode('utf-8'),
                    bool(_is_new(out)), expires)
    finally:
        _free(out)


def _when(ms: int) -> datetime.datetime:
    """Milliseconds since the Unix epoch as an aware UTC datetime."""
    return datetime.datetime.fromtimestamp(ms / 1000, datetime.timezone.utc)


def _ttl_ms(ttl: float) -> int:
    """A hold's length in seconds as the library's milliseconds (the
    library checks the range: 1 ms .. 30 days)."""
    if isinstance(ttl, bool) or not isinstance(ttl, (int, float)):
        raise TypeError('ttl must be a number of seconds, not %s'
                        % type(ttl).__name__)
    if not (0 < ttl <= _lib.MAX_TTL_MS / 1000):
        raise InvalidArgument(SB_EINVALID, 'ttl must be more than 0 and at '
                              'most 30 days (%d s), not %r'
                              % (_lib.MAX_TTL_MS // 1000, ttl))
    return max(1, int(round(ttl * 1000)))


def redact(uri: str) -> str:
    """@uri with any password replaced by ``***`` (for messages, reprs)."""
    return re.sub(r'(//[^/@?#]*?:)[^/@?#]*@', r'\1***@', uri)


class _Handle:
    """One C box, used by one thread; closed when its thread ends, when
    its Box is closed, or never if it came from a parent process."""

    __slots__ = ('ptr', 'generation', '__weakref__')

    def __init__(self, ptr: int) -> None:
        self.ptr: Optional[int] = ptr
        self.generation = _generation

    def close(self) -> None:
        ptr, self.ptr = self.ptr, None
        if ptr is not None and self.generation == _generation:
            _C.sb_box_close(ptr)

    def __del__(self) -> None:
        try:
            self.close()
        except Exception:  # interpreter shutdown: modules may be gone
            pass


def _open(uri: str, ledger_uri: Optional[str], protocol: str) -> _Handle:
    opts = _lib.OpenOpts(_lib.OPEN_OPTS_VERSION,
                         _enc_opt(ledger_uri, 'ledger URI'),
                         _lib.PROTOCOLS[protocol])
    out = c_void_p()
    err = create_string_buffer(_lib.ERRMSG_SIZE)
    rc = _C.sb_box_open(byref(out), _enc(uri, 'URI'), byref(opts), err,
                        _lib.ERRMSG_SIZE)
    if rc != SB_OK:
        raise error_for(rc, err.value.decode('utf-8', 'replace'))
    return _Handle(out.value)


class Box:
    """A store, opened from a URI: the whole storagebox API.

    ``Box(uri)`` opens a store (``sqlite:shop.db``,
    ``postgresql://user:pw@host/db``, ``redis://host``,
    ``dynamodb://eu-west-1``...; default ``$STORAGEBOX_URI``, else
    ``sqlite:storagebox.db``). With ``ledger_uri`` the ledgers live in
    another store; ``protocol='generic'`` forces the cross-store protocol.
    Use it as a context manager, or keep one for the life of the program.

    One Box may be shared by every thread: it keeps one C box (one
    connection per store) per thread, opened on the thread's first call
    and closed when the thread ends. Calls release the GIL. A process
    forked from one that uses a Box opens its own connections on its first
    call and never touches its parent's. A Box pickles as its URIs, so it
    can be passed to ``multiprocessing`` workers.

    Errors raise :class:`StorageboxError` subclasses; an empty bank is not
    an error (:meth:`fetch` returns None).
    """

    def __init__(self, uri: Optional[str] = None, *,
                 ledger_uri: Optional[str] = None,
                 protocol: str = 'auto') -> None:
        """Open the store (in the calling thread: a bad URI or a refused
        password raises here)."""
        if uri is None:
            uri = os.environ.get('STORAGEBOX_URI') or 'sqlite:storagebox.db'
        if protocol not in _lib.PROTOCOLS:
            raise InvalidArgument(SB_EINVALID,
                                  "protocol must be 'auto' or 'generic', "
                                  'not %r' % (protocol,))
        self._uri = uri
        self._ledger_uri = ledger_uri
        self._protocol = protocol
        self._local = threading.local()
        self._lock = threading.Lock()
        self._handles: 'weakref.WeakSet[_Handle]' = weakref.WeakSet()
        self._closed = False
        self._handle()

    # -- the per-thread C box
    def _handle(self) -> _Handle:
        h = getattr(self._local, 'h', None)
        if h is not None and h.generation == _generation:
            return h
        return self._open_here()

    def _open_here(self) -> _Handle:
        if self._closed:
            raise ValueError('storagebox: the Box is closed')
        h = _open(self._uri, self._ledger_uri, self._protocol)
        with self._lock:
            self._handles.add(h)
        self._local.h = h
        return h

    def _fail(self, rc: int, h: _Handle) -> StorageboxError:
        return error_for(rc, _lib.errmsg(h.ptr))

    @property
    def uri(self) -> str:
        """The bank store's URI, password redacted."""
        return redact(self._uri)

    @property
    def ledger_uri(self) -> Optional[str]:
        """The ledger store's URI (password redacted), or None."""
        return None if self._ledger_uri is None else redact(self._ledger_uri)

    @property
    def protocol(self) -> str:
        """``'auto'`` or ``'generic'``."""
        return self._protocol

    def __repr__(self) -> str:
        return '<storagebox.Box %r%s protocol=%r%s>' % (
            self.uri, '' if self._ledger_uri is None else
            ' ledger_uri=%r' % self.ledger_uri, self._protocol,
            ' closed' if self._closed else '')

    def __reduce__(self):
        return (_reopen, (self._uri, self._ledger_uri, self._protocol))

    # -- lifetime
    def close(self) -> None:
        """Close every thread's C box. Call it when no other thread is
        using the Box; later calls raise ValueError."""
        self._closed = True
        with self._lock:
            handles = list(self._handles)
            self._handles = weakref.WeakSet()
        for h in handles:
            h.close()
        self._local = threading.local()

    @property
    def closed(self) -> bool:
        """Whether :meth:`close` was called."""
        return self._closed

    def __enter__(self) -> 'Box':
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    # -- the API
    def init(self, bank: Optional[str] = None,
             ledger: Optional[str] = None, *, upgrade: bool = False) -> None:
        """Create what the store needs (tables, schema) and, when named,
        the bank (empty) and the ledger. Idempotent. With upgrade=True,
        also move a store made by an older release to its backend's
        current layout, in place (sb_box_init_opts() with
        SB_INIT_UPGRADE; stop clients of older releases first)."""
        h = self._handle()
        opts = _lib.InitOpts(_lib.INIT_OPTS_VERSION,
                             _lib.INIT_UPGRADE if upgrade else 0)
        rc = _C.sb_box_init_opts(h.ptr, _enc_opt(bank, 'bank'),
                                 _enc_opt(ledger, 'ledger'), byref(opts))
        if rc != SB_OK:
            raise self._fail(rc, h)

    def add(self, bank: str, items: Iterable[str], *,
            batch: int = ADD_BATCH,
            progress: Optional[Callable[[AddResult], None]] = None
            ) -> AddResult:
        """Add items to a bank (created if missing), streaming any iterable
        in batches of @batch. Items the bank already holds, in any state,
        are skipped and counted. Each batch is checked before it is
        written: a bad item raises InvalidArgument and its batch is not
        written (earlier batches stay; adding them again is safe).

        @progress, if given, is called with the running totals after each
        batch.
        """
        if isinstance(items, (str, bytes)):
            raise TypeError('items must be an iterable of str, not a single '
                            '%s' % type(items).__name__)
        if batch < 1:
            raise ValueError('batch must be at least 1')
        bank_b = _enc(bank, 'bank')
        added = skipped = 0
        chunk: List[bytes] = []
        it = iter(items)
        while True:
            chunk.clear()
            for value in it:
                chunk.append(_enc(value, 'item'))
                if len(chunk) >= batch:
                    break
            if not chunk:
                break
            h = self._handle()
            res = _lib.CAddResult()
            arr = (c_char_p * len(chunk))(*chunk)
            rc = _C.sb_box_add(byref(res), h.ptr, bank_b, arr, len(chunk))
            added += res.added
            skipped += res.skipped
            if rc != SB_OK:
                raise self._fail(rc, h)
            if progress is not None:
                progress(AddResult(added, skipped))
            if len(chunk) < batch:
                break
        return AddResult(added, skipped)

    def fetch(self, bank: str, ledger: str, dedup_id: str) -> Optional[Item]:
        """The item @dedup_id holds in @ledger (from any bank), else a new
        item from @bank recorded for it, else None (the bank is empty).
        Raises NotFound if the bank was never created."""
        h = self._handle()
        out = c_void_p()
        rc = _fetch(byref(out), h.ptr, _enc(bank, 'bank'),
                    _enc(ledger, 'ledger'), _enc(dedup_id, 'dedup_id'))
        if rc == SB_OK:
            return _item(out)
        if rc == SB_EMPTY:
            return None
        raise self._fail(rc, h)

    def lookup(self, ledger: str, dedup_id: str) -> Optional[Item]:
        """The item @dedup_id holds in @ledger, or None; claims nothing."""
        h = self._handle()
        out = c_void_p()
        rc = _lookup(byref(out), h.ptr, _enc(ledger, 'ledger'),
                     _enc(dedup_id, 'dedup_id'))
        if rc == SB_OK:
            return _item(out)
        if rc == SB_ENOTFOUND:
            return None
        raise self._fail(rc, h)

    def stats(self, bank: str, ledger: Optional[str] = None) -> Stats:
        """Counts of a bank; with @ledger also how many of its ids hold an
        item of this bank. Raises NotFound for a bank never created."""
        h = self._handle()
        st = _lib.CStats()
        rc = _C.sb_box_stats(byref(st), h.ptr, _enc(bank, 'bank'),
                             _enc_opt(ledger, 'ledger'))
        if rc != SB_OK:
            raise self._fail(rc, h)
        return Stats(st.available, st.reserved, st.assigned, st.held,
                     st.on_hold, st.retired)

    def export(self, ledger: str) -> Iterator[Assignment]:
        """Every assignment for good of a ledger, in no particular order
        (live holds: :meth:`export_holds`).

        The whole ledger is read when the iterator is made (the library
        hands rows to a callback)."""
        return self._export(ledger, _C.sb_box_export, _lib.EXPORT_CB,
                            lambda i, b, v: Assignment(i, b, v))

    def export_holds(self, ledger: str) -> Iterator[Hold]:
        """Every live hold of a ledger, with its deadline."""
        return self._export(ledger, _C.sb_box_export_holds,
                            _lib.EXPORT_HOLD_CB,
                            lambda i, b, v, ms: Hold(i, b, v, _when(ms)))

    def _export(self, ledger: str, fn: Any, cb_type: Any,
                make: Callable[..., _T]) -> Iterator[_T]:
        h = self._handle()
        rows: List[_T] = []
        failure: List[BaseException] = []

        def collect(dedup_id: bytes, bank: bytes, item: bytes,
                    *rest: Any) -> int:
            try:
                rows.append(make(dedup_id.decode('utf-8'),
                                 bank.decode('utf-8'), item.decode('utf-8'),
                                 *rest[:-1]))
                return 0
            except BaseException as e:  # not across the C frames
                failure.append(e)
                return 1

        cb = cb_type(collect)
        rc = fn(h.ptr, _enc(ledger, 'ledger'), cb, None)
        if failure:
            raise failure[0]
        if rc != SB_OK:
            raise self._fail(rc, h)
        return iter(rows)

    # -- holds (DESIGN §8)
    def hold(self, bank: str, ledger: str, dedup_id: str,
             ttl: float = 600) -> Optional[Item]:
        """:meth:`fetch` whose *new* assignment is held for @ttl seconds
        (``item.expires_at`` is the deadline), then lapses back to the bank
        unless confirmed (:meth:`confirm`). An id that already holds an
        item (for good, or a hold not lapsed) gets it back unchanged.
        None: the bank is empty."""
        ms = _ttl_ms(ttl)
        h = self._handle()
        out = c_void_p()
        rc = _hold(byref(out), h.ptr, _enc(bank, 'bank'),
                   _enc(ledger, 'ledger'), _enc(dedup_id, 'dedup_id'), ms)
        if rc == SB_OK:
            return _item(out)
        if rc == SB_EMPTY:
            return None
        raise self._fail(rc, h)

    def confirm(self, ledger: str, dedup_id: str) -> None:
        """Make the id's hold permanent, before its deadline. Also fine on
        an item held for good. Raises Expired (too late: the id holds
        nothing now) or NotFound (it held nothing)."""
        h = self._handle()
        rc = _C.sb_box_confirm(h.ptr, _enc(ledger, 'ledger'),
                               _enc(dedup_id, 'dedup_id'))
        if rc != SB_OK:
            raise self._fail(rc, h)

    def extend(self, ledger: str, dedup_id: str, ttl: float = 600) -> None:
        """Move the id's deadline to now + @ttl seconds, before it passes
        (an item held for good stays so). Raises as :meth:`confirm`."""
        ms = _ttl_ms(ttl)
        h = self._handle()
        rc = _C.sb_box_extend(h.ptr, _enc(ledger, 'ledger'),
                              _enc(dedup_id, 'dedup_id'), ms)
        if rc != SB_OK:
            raise self._fail(rc, h)

    def release(self, ledger: str, dedup_id: str, *,
                retire: bool = False) -> None:
        """The id gives its item back (held or for good): available again,
        or with @retire never handed out again. The id is then new.
        Raises NotFound (it holds nothing: also a second release) or
        Expired (its hold had lapsed: the item went back to the bank)."""
        h = self._handle()
        rc = _C.sb_box_release(h.ptr, _enc(ledger, 'ledger'),
                               _enc(dedup_id, 'dedup_id'),
                               _lib.RELEASE_RETIRE if retire
                               else _lib.RELEASE_RESTOCK)
        if rc != SB_OK:
            raise self._fail(rc, h)

    def recover(self, bank: str, ledger: str,
                min_age: float = 0) -> RecoverResult:
        """Roll forward the reservations of @bank made for @ledger (left by
        cross-store fetches that died or are in flight); with @min_age
        (seconds) only those at least that old. Safe at any time."""
        h = self._handle()
        opts = _lib.RecoverOpts(_lib.RECOVER_OPTS_VERSION,
                                int(min_age * 1000))
        res = _lib.CRecoverResult()
        rc = _C.sb_box_recover(byref(res), h.ptr, _enc(bank, 'bank'),
                               _enc(ledger, 'ledger'), byref(opts))
        if rc != SB_OK:
            raise self._fail(rc, h)
        return RecoverResult(res.settled, res.put_back, res.foreign,
                             res.lapsed, res.released)


def _reopen(uri: str, ledger_uri: Optional[str], protocol: str) -> Box:
    return Box(uri, ledger_uri=ledger_uri, protocol=protocol)
