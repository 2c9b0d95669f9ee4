/* sb_box: opening stores by URI and the calls that are not the claim
 * (init, add, lookup, stats, export). */
#include "internal.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Longest lease accepted: a day. A longer one would let a crashed client's
 * item look sold out for longer than anyone would wait. */
#define SB_MAX_LEASE_MS (24LL * 3600 * 1000)

static int read_lease(sb_box *box, sb_uri *uri, int *seen)
{
	const char *v = sb_uri_param(uri, "lease");
	char *end = NULL;
	double secs;

	if (!v)
		return SB_OK;
	secs = strtod(v, &end);
	if (!*v || *end || !isfinite(secs) || secs < 0 ||
	    secs * 1000 > (double)SB_MAX_LEASE_MS)
		return sb_seterr(box, SB_EURI,
		                 "%s URI: option lease must be a number of seconds "
		                 "from 0 to 86400",
		                 uri->scheme);
	if (!*seen)
		box->lease_ms = (int64_t)(secs * 1000);
	*seen = 1;
	return SB_OK;
}

/* Parse @p text, find its backend, open the store. */
static int open_store(sb_store **out, const char **scheme, sb_box *box,
                      const char *text, int *lease_seen)
{
	char err[SB_ERRMSG_SIZE];
	const sb_backend *be;
	sb_store *st = NULL;
	const char *unused;
	sb_uri *uri;
	int rc;

	*out = NULL;
	rc = sb_uri_parse(&uri, text, err, sizeof(err));
	if (rc)
		return sb_seterr(box, rc, "%s", err);
	be = sb_backend_find(uri->scheme);
	if (!be) {
		char names[256];
		sb_backend_names(names, sizeof(names));
		rc = sb_seterr(box, SB_EURI,
		               "no backend for '%.64s' (built without it?); this "
		               "build has: %s",
		               uri->scheme, names);
		goto out;
	}
	/* Built-in backends are checked here too: one rule for all. */
	if ((rc = sb_version_check(box, NULL, 0, be->scheme, be->version,
	                           SB_BACKEND_VERSION)) ||
	    (rc = read_lease(box, uri, lease_seen)))
		goto out;
	rc = be->open(&st, uri, box);
	if (rc) {
		if (rc > 0 || rc < SB_EAUTH) /* not an sb_error */
			rc = sb_seterr(box, SB_EBACKEND,
			               "%s backend: open "
			               "returned %d, which the backend contract "
			               "does not allow",
			               be->scheme, rc);
		if (!sb_box_errmsg(box)[0])
			sb_seterr(box, rc, "%s: cannot open store",
			          uri->scheme);
		goto out;
	}
	if ((rc = sb_store_check(box, be->scheme, st))) {
		if (st && st->ops && st->ops->close)
			st->ops->close(st);
		goto out;
	}
	st->box = box;
	if ((unused = sb_uri_unused(uri))) {
		rc = sb_seterr(box, SB_EURI, "%s URI: unknown option '%.64s'",
		               uri->scheme, unused);
		st->ops->close(st);
		goto out;
	}
	*out = st;
	*scheme = be->scheme;
out:
	sb_uri_free(uri);
	return rc;
}

int sb_box_open(sb_box **out, const char *uri, const sb_open_opts *opts,
                char *errbuf, size_t errbuf_size)
{
	sb_open_opts defaults = SB_OPEN_OPTS_INIT;
	int lease_seen = 0, rc;
	sb_box *box;

	if (errbuf && errbuf_size)
		errbuf[0] = '\0';
	if (!out) {
		if (errbuf && errbuf_size)
			snprintf(errbuf, errbuf_size,
			         "sb_box_open: out is NULL");
		return SB_EINVALID;
	}
	*out = NULL;
	if (!opts)
		opts = &defaults;
	if ((rc = sb_version_check(NULL, errbuf, errbuf_size, "sb_open_opts",
	                           opts->version, SB_OPEN_OPTS_VERSION)))
		return rc;
	if (opts->protocol != SB_PROTOCOL_AUTO &&
	    opts->protocol != SB_PROTOCOL_GENERIC) {
		if (errbuf && errbuf_size)
			snprintf(errbuf, errbuf_size,
			         "sb_box_open: protocol %d is "
			         "not an sb_protocol",
			         (int)opts->protocol);
		return SB_EINVALID;
	}
	box = calloc(1, sizeof(*box));
	if (!box) {
		if (errbuf && errbuf_size)
			snprintf(errbuf, errbuf_size, "out of memory");
		return SB_ENOMEM;
	}
	box->protocol = opts->protocol;
	box->lease_ms = SB_DEFAULT_LEASE_MS;

	rc = open_store(&box->bank_store, &box->bank_scheme, box, uri,
	                &lease_seen);
	if (!rc) {
		/* The same URI means the same store: one connection, and the
		 * fused claim becomes possible. */
		if (opts->ledger_uri &&
		    (!uri || strcmp(opts->ledger_uri, uri) != 0))
			rc = open_store(&box->ledger_store, &box->ledger_scheme,
			                box, opts->ledger_uri, &lease_seen);
		else {
			box->ledger_store = box->bank_store;
			box->ledger_scheme = box->bank_scheme;
		}
	}
	if (rc) {
		if (errbuf && errbuf_size)
			snprintf(errbuf, errbuf_size, "%s", box->errmsg);
		sb_box_close(box);
		return rc;
	}
	*out = box;
	return SB_OK;
}

void sb_box_close(sb_box *box)
{
	if (!box)
		return;
	if (box->ledger_store && box->ledger_store != box->bank_store)
		box->ledger_store->ops->close(box->ledger_store);
	if (box->bank_store)
		box->bank_store->ops->close(box->bank_store);
	sb__taken_free(box); /* left to the other passes, as by a crash */
	free(box);
}

/* The bank and ledger repositories, or SB_ENOTSUPPORTED. */
static int need_bank(sb_box *box)
{
	if (!box->bank_store->bank)
		return sb_seterr(box, SB_ENOTSUPPORTED,
		                 "this store keeps no banks");
	return SB_OK;
}

static int need_ledger(sb_box *box)
{
	if (!box->ledger_store->ledger)
		return sb_seterr(box, SB_ENOTSUPPORTED,
		                 "this store keeps no ledgers");
	return SB_OK;
}

int sb_box_init(sb_box *box, const char *bank, const char *ledger)
{
	int rc;

	if (!box)
		return SB_EINVALID;
	sb_clearerr(box);
	if ((bank && (rc = sb_validate(box, bank, "bank name"))) ||
	    (ledger && (rc = sb_validate(box, ledger, "ledger name"))))
		return rc;
	if ((rc = sb_slot_init(box, box->bank_store)))
		return rc;
	if (box->ledger_store != box->bank_store &&
	    (rc = sb_slot_init(box, box->ledger_store)))
		return rc;
	if (bank &&
	    ((rc = need_bank(box)) || (rc = sb_slot_bank_create(box, bank))))
		return rc;
	if (ledger && ((rc = need_ledger(box)) ||
	               (rc = sb_slot_ledger_create(box, ledger))))
		return rc;
	return SB_OK;
}

int sb_box_init_opts(sb_box *box, const char *bank, const char *ledger,
                     const sb_init_opts *opts)
{
	int rc;

	if (!box)
		return SB_EINVALID;
	sb_clearerr(box);
	if (opts && (rc = sb_version_check(box, NULL, 0, "sb_init_opts",
	                                   opts->version, SB_INIT_OPTS_VERSION)))
		return rc;
	if (opts && (opts->flags & ~SB_INIT_UPGRADE))
		return sb_seterr(box, SB_EINVALID,
		                 "sb_init_opts: unknown flags 0x%x",
		                 opts->flags & ~SB_INIT_UPGRADE);
	if ((rc = sb_box_init(box, bank, ledger)))
		return rc;
	if (!opts || !(opts->flags & SB_INIT_UPGRADE))
		return SB_OK;
	if ((rc = sb_slot_upgrade(box, box->bank_store)))
		return rc;
	if (box->ledger_store != box->bank_store &&
	    (rc = sb_slot_upgrade(box, box->ledger_store)))
		return rc;
	return SB_OK;
}

int sb_box_add(sb_add_result *out, sb_box *box, const char *bank,
               const char *const *items, size_t n)
{
	uint64_t added, skipped;
	size_t i, max, chunk;
	char what[40];
	int rc;

	if (out)
		out->added = out->skipped = 0;
	if (!box)
		return SB_EINVALID;
	sb_clearerr(box);
	if ((rc = sb_validate(box, bank, "bank name")) || (rc = need_bank(box)))
		return rc;
	if (n && !items)
		return sb_seterr(box, SB_EINVALID, "items is NULL");
	/* Check the whole batch first: a bad item must change nothing. */
	for (i = 0; i < n; i++) {
		snprintf(what, sizeof(what), "item %zu", i + 1);
		if ((rc = sb_validate(box, items[i], what)))
			return rc;
	}
	if (n == 0)
		return sb_slot_bank_create(box, bank);
	/* A store that takes at most add_max items per call gets the batch
	 * in calls of that size, each all or nothing; what the calls before
	 * a failure added stays, and is counted in *out. */
	max = box->bank_store->bank->add_max;
	for (i = 0; i < n; i += chunk) {
		chunk = max && n - i > max ? max : n - i;
		if ((rc = sb_slot_add(box, &added, &skipped, bank, items + i,
		                      chunk)))
			return rc;
		if (out) {
			out->added += added;
			out->skipped += skipped;
		}
	}
	return SB_OK;
}

int sb_box_lookup(sb_item **out, sb_box *box, const char *ledger,
                  const char *dedup_id)
{
	int rc;

	if (!out)
		return box ? sb_seterr(box, SB_EINVALID, "out is NULL")
		           : SB_EINVALID;
	*out = NULL;
	if (!box)
		return SB_EINVALID;
	sb_clearerr(box);
	if ((rc = sb_validate(box, ledger, "ledger name")) ||
	    (rc = sb_validate(box, dedup_id, "dedup id")) ||
	    (rc = need_ledger(box)))
		return rc;
	rc = sb_slot_get(box, out, ledger, dedup_id);
	if (rc == SB_OK && ((*out)->flags & SB_ITEM_LAPSED)) {
		/* A lapsed hold: the id holds nothing any more. */
		sb_item_free(*out);
		*out = NULL;
		rc = SB_ENOTFOUND;
	}
	if (rc == SB_ENOTFOUND && !box->errmsg[0])
		sb_seterr(box, rc, "id holds no item in this ledger");
	return rc;
}

int sb_box_stats(sb_stats *out, sb_box *box, const char *bank,
                 const char *ledger)
{
	sb_bank_counts c = { 0 };
	uint64_t held = 0;
	int rc;

	if (!box)
		return SB_EINVALID;
	if (!out)
		return sb_seterr(box, SB_EINVALID, "out is NULL");
	memset(out, 0, sizeof(*out));
	sb_clearerr(box);
	if ((rc = sb_validate(box, bank, "bank name")) ||
	    (rc = need_bank(box)) ||
	    (ledger && ((rc = sb_validate(box, ledger, "ledger name")) ||
	                (rc = need_ledger(box)))))
		return rc;
	if ((rc = sb_slot_bank_count(box, &c, bank)) ||
	    (ledger && (rc = sb_slot_ledger_count(box, &held, ledger, bank))))
		return rc;
	out->available = c.available;
	out->reserved = c.reserved;
	out->assigned = c.assigned;
	out->held = held;
	out->on_hold = c.on_hold;
	out->retired = c.retired;
	return SB_OK;
}

int sb_box_export(sb_box *box, const char *ledger, sb_export_cb cb,
                  void *payload)
{
	int rc;

	if (!box)
		return SB_EINVALID;
	sb_clearerr(box);
	if (!cb)
		return sb_seterr(box, SB_EINVALID, "export callback is NULL");
	if ((rc = sb_validate(box, ledger, "ledger name")) ||
	    (rc = need_ledger(box)))
		return rc;
	return sb_slot_export(box, ledger, cb, payload);
}
