"""The original library's classes, unchanged for their users.

``ItemBankDynamoDbRepository(table_name=...)``,
``DeduplicationDynamoDbRepository(table_name=...)``, ``batch_add_items``
and ``Deduplicator(...).fetch_item_for_deduplication_id(...)`` work as
they did, on the same DynamoDB tables (a bank is a table with hash key
``item``, a ledger a table with hash key ``deduplication_id`` and
attribute ``item_string``), with the AWS settings read from the
environment the way boto3 reads them. ``ItemBankRepository(uri, bank=...)``
and ``DeduplicationRepository(uri, ledger=...)`` are the same classes over
any store.
"""

import os
import threading
import urllib.parse
from typing import Any, Dict, Iterable, Optional, Tuple

from .box import AddResult, Box, Item
from .errors import SB_ENOTSUPPORTED, SB_EURI, InvalidURI, NotSupported

_boxes: Dict[Tuple[str, Optional[str], str], Box] = {}
_boxes_lock = threading.Lock()


def shared_box(uri: str, ledger_uri: Optional[str] = None,
               protocol: str = 'auto') -> Box:
    """One Box per (URIs, protocol) for the whole process: the repositories
    of one store share its connections (one per thread)."""
    key = (uri, ledger_uri, protocol)
    with _boxes_lock:
        box = _boxes.get(key)
        if box is None or box.closed:
            box = _boxes[key] = Box(uri, ledger_uri=ledger_uri,
                                    protocol=protocol)
        return box


def aws_dynamodb_uri(environ: Optional[Dict[str, str]] = None) -> str:
    """The DynamoDB URI that boto3's settings in the environment describe.

    Region: ``AWS_REGION``, else ``AWS_DEFAULT_REGION``. Endpoint:
    ``AWS_ENDPOINT_URL_DYNAMODB``, else ``AWS_ENDPOINT_URL`` (DynamoDB
    Local: ``http://localhost:8000``), else AWS's own for the region.
    Credentials are found by the library as the AWS SDKs find them
    (``AWS_ACCESS_KEY_ID``, ``AWS_SECRET_ACCESS_KEY``,
    ``AWS_SESSION_TOKEN``, else the ``~/.aws`` profile of ``AWS_PROFILE``,
    the container endpoint, EC2 instance metadata) and never enter the URI.
    """
    env = os.environ if environ is None else environ
    region = env.get('AWS_REGION') or env.get('AWS_DEFAULT_REGION')
    endpoint = (env.get('AWS_ENDPOINT_URL_DYNAMODB') or
                env.get('AWS_ENDPOINT_URL'))
    if endpoint:
        url = urllib.parse.urlsplit(endpoint)
        if url.scheme not in ('http', 'https') or not url.netloc:
            raise InvalidURI(SB_EURI, 'the DynamoDB endpoint %r (from '
                             'AWS_ENDPOINT_URL[_DYNAMODB]) is not an http:// '
                             'or https:// URL' % endpoint)
        uri = 'dynamodb+%s://%s' % (url.scheme, url.netloc)
        if region:
            uri += '?region=' + urllib.parse.quote(region, safe='')
        return uri
    if not region:
        raise InvalidURI(SB_EURI, 'no AWS region: set AWS_REGION or '
                         'AWS_DEFAULT_REGION (and AWS_ENDPOINT_URL for a '
                         'local endpoint such as DynamoDB Local)')
    return 'dynamodb://' + region


class ItemBankRepository:
    """A bank of items in a store: the original's item repository over
    any URI (``ItemBankRepository('redis://host', bank='codes')``)."""

    def __init__(self, uri: str, bank: str, *, protocol: str = 'auto'
                 ) -> None:
        self.uri = uri
        self.bank = bank
        self.protocol = protocol
        self.box = shared_box(uri, None, protocol)

    def __repr__(self) -> str:
        return '%s(%r, bank=%r)' % (type(self).__name__, self.box.uri,
                                    self.bank)

    def batch_add_items(self, items: Iterable[str]) -> AddResult:
        """Add items (any iterable of str, streamed). Items the bank
        already holds, handed out or not, are skipped and counted."""
        return self.box.add(self.bank, items)

    def add_item_to_bank(self, item_string: str) -> bool:
        """Add one item; False if the bank already held it."""
        return self.box.add(self.bank, [item_string]).added == 1

    def get_item_from_bank(self) -> Optional[str]:
        """Not offered: taking an item without recording who got it is the
        step that lost items in the original. Use a Deduplicator."""
        raise NotSupported(SB_ENOTSUPPORTED,
                           'get_item_from_bank: storagebox takes an item '
                           'only for an id (Deduplicator.fetch_item_for_'
                           'deduplication_id), so none is ever lost')


class DeduplicationRepository:
    """A ledger (deduplication id -> item) in a store: the original's
    deduplication repository over any URI."""

    def __init__(self, uri: str, ledger: str, *, protocol: str = 'auto'
                 ) -> None:
        self.uri = uri
        self.ledger = ledger
        self.protocol = protocol
        self.box = shared_box(uri, None, protocol)

    def __repr__(self) -> str:
        return '%s(%r, ledger=%r)' % (type(self).__name__, self.box.uri,
                                      self.ledger)

    def get_value_for_deduplication_id(self, deduplication_id: Any
                                       ) -> Optional[str]:
        """The item the id holds, or None."""
        return self.box.lookup(self.ledger, str(deduplication_id))

    def put_deduplication_id(self, deduplication_id: Any,
                             item_string: str) -> None:
        """Not offered: the ledger is written only by the claim itself."""
        raise NotSupported(SB_ENOTSUPPORTED,
                           'put_deduplication_id: storagebox writes the '
                           'ledger only inside a claim (Deduplicator.fetch_'
                           'item_for_deduplication_id)')


class ItemBankDynamoDbRepository(ItemBankRepository):
    """The original's DynamoDB item repository: the table @table_name
    (hash key ``item``) at the endpoint and region of the environment."""

    def __init__(self, table_name: str) -> None:
        self.table_name = table_name
        super().__init__(aws_dynamodb_uri(), bank=table_name)


class DeduplicationDynamoDbRepository(DeduplicationRepository):
    """The original's DynamoDB deduplication repository: the table
    @table_name (hash key ``deduplication_id``, attribute
    ``item_string``)."""

    def __init__(self, table_name: str) -> None:
        self.table_name = table_name
        super().__init__(aws_dynamodb_uri(), ledger=table_name)


class Deduplicator:
    """Hands each deduplication id one item of @item_repo, recorded in
    @deduplication_repo, exactly once, whatever the concurrency. Several
    Deduplicators may share one deduplication repository: an id gets one
    item across all of their banks."""

    def __init__(self, item_repo: ItemBankRepository,
                 deduplication_repo: DeduplicationRepository) -> None:
        self.item_repo = item_repo
        self.deduplication_repo = deduplication_repo
        same = item_repo.uri == deduplication_repo.uri
        protocol = ('generic' if 'generic' in (item_repo.protocol,
                                               deduplication_repo.protocol)
                    else 'auto')
        #: The Box that claims: on the item repository's store, with the
        #: ledger in the deduplication repository's store.
        self.box = shared_box(item_repo.uri,
                              None if same else deduplication_repo.uri,
                              protocol)

    def fetch_item_for_deduplication_id(self, deduplication_id: Any
                                        ) -> Optional[Item]:
        """The item the id holds (from any bank of the ledger), else a new
        one from the bank, else None when the bank is empty. The item is a
        ``str`` (an :class:`~storagebox.Item`)."""
        return self.box.fetch(self.item_repo.bank,
                               self.deduplication_repo.ledger,
                               str(deduplication_id))
