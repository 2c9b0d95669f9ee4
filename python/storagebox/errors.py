"""The exceptions of storagebox: one per error code of the C library.

Every exception derives from :class:`StorageboxError`, which carries the
library's code and message, and also from the built-in exception that
matches its meaning, so ``except ValueError`` or ``except ConnectionError``
catch them as code written for the standard library expects. Messages say
what failed and where; they never hold a password or secret key.
"""

from typing import Dict, Optional, Type

# The codes of include/storagebox/storagebox.h (sb_error).
SB_OK = 0
SB_EMPTY = 1
SB_ERROR = -1
SB_ENOTFOUND = -2
SB_ECONFLICT = -3
SB_EURI = -4
SB_ENOTSUPPORTED = -5
SB_EBACKEND = -6
SB_ETIMEOUT = -7
SB_EINVALID = -8
SB_ENOMEM = -9
SB_EBUSY = -10
SB_ECONNECT = -11
SB_EAUTH = -12
SB_EEXPIRED = -13  # holds (DESIGN §8): a hold's deadline has passed

CODE_NAMES: Dict[int, str] = {
    value: name for name, value in globals().items()
    if name.startswith('SB_') and isinstance(value, int)
}


class StorageboxError(Exception):
    """A call into the library failed.

    Attributes:
        code: the library's result code (negative, ``SB_E*``).
        message: what failed and where, as the library said it.
    """

    code: int
    message: str

    def __init__(self, code: int, message: str) -> None:
        # One argument only: OSError subclasses read two as (errno, text).
        super().__init__(message)
        self.code = code
        self.message = message

    @property
    def code_name(self) -> str:
        """The code's C name, e.g. ``'SB_EAUTH'``."""
        return CODE_NAMES.get(self.code, 'SB_E?(%d)' % self.code)

    def __str__(self) -> str:
        return self.message

    def __reduce__(self):
        # Exceptions cross process boundaries (multiprocessing) intact.
        return (self.__class__, (self.code, self.message))


class InvalidArgument(StorageboxError, ValueError):
    """A bad argument: empty, too long, a NUL, CR or LF (``SB_EINVALID``)."""


class InvalidURI(StorageboxError, ValueError):
    """A malformed URI, an unknown scheme or option (``SB_EURI``)."""


class NotFound(StorageboxError, LookupError):
    """No such bank, or the id holds nothing (``SB_ENOTFOUND``)."""


class Conflict(StorageboxError):
    """A conditional write lost (``SB_ECONFLICT``)."""


class NotSupported(StorageboxError, NotImplementedError):
    """The store cannot do this (``SB_ENOTSUPPORTED``)."""


class BackendError(StorageboxError):
    """The store reported an error; the message has its text
    (``SB_EBACKEND``)."""


class Timeout(StorageboxError, TimeoutError):
    """The store did not answer in time (``SB_ETIMEOUT``)."""


class Busy(StorageboxError, TimeoutError):
    """The store stayed locked past its busy timeout (``SB_EBUSY``)."""


class OutOfMemory(StorageboxError, MemoryError):
    """The library ran out of memory (``SB_ENOMEM``)."""


class ConnectError(StorageboxError, ConnectionError):
    """The store cannot be reached, or the connection was lost
    (``SB_ECONNECT``)."""


class AuthError(StorageboxError, PermissionError):
    """The store refused the credentials (``SB_EAUTH``)."""


class Expired(StorageboxError, LookupError):
    """The id's hold lapsed before it was confirmed, extended or released:
    its deadline has passed and the id holds nothing now
    (``SB_EEXPIRED``). A LookupError, as :class:`NotFound` is, but not a
    NotFound: "too late" and "never held" are told apart."""


_BY_CODE: Dict[int, Type[StorageboxError]] = {
    SB_EINVALID: InvalidArgument,
    SB_EURI: InvalidURI,
    SB_ENOTFOUND: NotFound,
    SB_ECONFLICT: Conflict,
    SB_ENOTSUPPORTED: NotSupported,
    SB_EBACKEND: BackendError,
    SB_ETIMEOUT: Timeout,
    SB_EBUSY: Busy,
    SB_ENOMEM: OutOfMemory,
    SB_ECONNECT: ConnectError,
    SB_EAUTH: AuthError,
    SB_EEXPIRED: Expired,
}


def error_for(code: int, message: Optional[str]) -> StorageboxError:
    """The exception for a result code (``StorageboxError`` itself for
    ``SB_ERROR`` and codes this package does not know)."""
    return _BY_CODE.get(code, StorageboxError)(code, message or
                                               CODE_NAMES.get(code, 'error'))
