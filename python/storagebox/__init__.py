"""storagebox: hand out items from a bank exactly once, across threads,
processes and machines.

A *bank* holds items (voucher codes, seats, links); a *ledger* maps a
deduplication id (user id, e-mail...) to the one item it was given. Every
id gets at most one item, every item goes to at most one id, and nothing
is lost when a client dies. This package wraps the C library
libstoragebox with ctypes.

The original library's API, unchanged::

    import storagebox
    item_repo = storagebox.ItemBankDynamoDbRepository(table_name="codes")
    deduplication_repo = storagebox.DeduplicationDynamoDbRepository(
        table_name="codes-dedup")
    item_repo.batch_add_items(["A", "B"])
    deduplicator = storagebox.Deduplicator(
        item_repo=item_repo, deduplication_repo=deduplication_repo)
    code = deduplicator.fetch_item_for_deduplication_id(deduplication_id="u1")

The same classes over any store: ``ItemBankRepository(uri, bank=...)``,
``DeduplicationRepository(uri, ledger=...)``. The whole API::

    with storagebox.Box("sqlite:shop.db") as box:
        box.add("vouchers", codes)
        item = box.fetch("vouchers", "voucher-users", "alice")

Errors raise :class:`StorageboxError` subclasses that also derive from the
matching built-in (ValueError, LookupError, ConnectionError,
PermissionError, TimeoutError...).
"""

from . import _lib
from .box import (ADD_BATCH, AddResult, Assignment, Box, Hold, Item,
                  RecoverResult, Stats)
from .errors import (AuthError, BackendError, Busy, Conflict, ConnectError,
                     Expired, InvalidArgument, InvalidURI, NotFound,
                     NotSupported, OutOfMemory, StorageboxError, Timeout)
from .original import (DeduplicationDynamoDbRepository,
                       DeduplicationRepository, Deduplicator,
                       ItemBankDynamoDbRepository, ItemBankRepository,
                       aws_dynamodb_uri)

__all__ = [
    'Box', 'Item', 'AddResult', 'Stats', 'RecoverResult', 'Assignment', 'Hold',
    'ADD_BATCH', 'library_version', 'library_path', 'schemes',
    'ItemBankRepository', 'DeduplicationRepository', 'Deduplicator',
    'ItemBankDynamoDbRepository', 'DeduplicationDynamoDbRepository',
    'aws_dynamodb_uri',
    'StorageboxError', 'InvalidArgument', 'InvalidURI', 'NotFound',
    'Conflict', 'NotSupported', 'BackendError', 'Timeout', 'Busy',
    'OutOfMemory', 'ConnectError', 'AuthError', 'Expired',
]

__version__ = '0.2.0'


def library_version() -> str:
    """The version of the C library in use (``sb_version()``)."""
    return _lib.version()


def library_path() -> str:
    """The path the C library was loaded from."""
    return _lib.path


def schemes() -> list:
    """The URI schemes the C library in use can open."""
    return _lib.schemes()
