/* Versioned structs (libgit2's rule): a struct handed to the core says which
 * header it was built with, and the core accepts any version from 1 to its
 * own. Structs only grow at the end, so an older one is a prefix of the
 * current one and the core reads a later field only when the version has
 * it. This is the one place that enforces the rule for options structs and
 * backend vtables alike, built-in and registered. */
#include "internal.h"

#include <stdio.h>

int sb_version_check(sb_box *box, char *err, size_t errlen, const char *what,
                     unsigned int version, unsigned int current)
{
	char msg[SB_ERRMSG_SIZE];
	int rc;

	if (version >= 1 && version <= current)
		return SB_OK;
	if (version == 0) {
		rc = SB_EINVALID;
		snprintf(msg, sizeof msg,
		         "%s has version 0: initialise it with "
		         "its *_INIT macro or set its version field",
		         what);
	} else {
		rc = SB_ENOTSUPPORTED;
		snprintf(msg, sizeof msg,
		         "%s has version %u, newer than this "
		         "library knows (%u, storagebox %s): build against the "
		         "headers of the library you run",
		         what, version, current, SB_VERSION);
	}
	if (err && errlen)
		snprintf(err, errlen, "%s", msg);
	return sb_seterr(box, rc, "%s", msg);
}

/* A required slot that is NULL. */
static int missing(sb_box *box, const char *scheme, const char *table,
                   const char *slot)
{
	return sb_seterr(box, SB_EINVALID,
	                 "%s backend: its %s vtable has no "
	                 "'%s' slot, which is required",
	                 scheme, table, slot);
}

int sb_store_check(sb_box *box, const char *scheme, const sb_store *st)
{
	char what[96];
	int rc;

	if (!st || !st->ops)
		return sb_seterr(box, SB_EINVALID,
		                 "%s backend: open returned "
		                 "SB_OK without a store",
		                 scheme);
	snprintf(what, sizeof what, "%s backend's store vtable", scheme);
	if ((rc = sb_version_check(box, NULL, 0, what, st->ops->version,
	                           SB_STORE_OPS_VERSION)))
		return rc;
	if (!st->ops->init)
		return missing(box, scheme, "store", "init");
	if (!st->ops->close)
		return missing(box, scheme, "store", "close");
	if (st->ops->version >= 2) {
		const sb_store_ops *o = st->ops;
		int n = !!o->hold + !!o->change + !!o->reclaim;
		if (n != 0 && (n != 3 || !o->claim))
			return sb_seterr(box, SB_EINVALID,
			                 "%s backend: its store vtable must have "
			                 "hold, change and reclaim all or none, "
			                 "and claim with them",
			                 scheme);
	}
	if (st->bank) {
		const sb_bank_ops *b = st->bank;
		snprintf(what, sizeof what, "%s backend's bank vtable", scheme);
		if ((rc = sb_version_check(box, NULL, 0, what, b->version,
		                           SB_BANK_OPS_VERSION)))
			return rc;
		if (!b->add || !b->take || !b->settle || !b->put_back ||
		    !b->count || !b->reserved || !b->create)
			return missing(box, scheme, "bank",
			               !b->add        ? "add"
			               : !b->take     ? "take"
			               : !b->settle   ? "settle"
			               : !b->put_back ? "put_back"
			               : !b->count    ? "count"
			               : !b->reserved ? "reserved"
			                              : "create");
		if (b->version >= 2 && (!b->take_held || !b->move || !b->list))
			return missing(box, scheme, "bank",
			               !b->take_held ? "take_held"
			               : !b->move    ? "move"
			                             : "list");
	}
	if (st->ledger) {
		const sb_ledger_ops *l = st->ledger;
		snprintf(what, sizeof what, "%s backend's ledger vtable",
		         scheme);
		if ((rc = sb_version_check(box, NULL, 0, what, l->version,
		                           SB_LEDGER_OPS_VERSION)))
			return rc;
		if (!l->get || !l->put_if_absent || !l->export || !l->count)
			return missing(box, scheme, "ledger",
			               !l->get             ? "get"
			               : !l->put_if_absent ? "put_if_absent"
			               : !l->export        ? "export"
			                                   : "count");
		if (l->version >= 2 && (!l->put_held || !l->update ||
		                        !l->remove || !l->export_holds))
			return missing(box, scheme, "ledger",
			               !l->put_held ? "put_held"
			               : !l->update ? "update"
			               : !l->remove ? "remove"
			                            : "export_holds");
	}
	return SB_OK;
}
