/* Planned failures of the memory backend (memory.h): how the core's error
 * paths (a ledger write that fails after a take, a settle that fails, a
 * backend that breaks its contract) are tested on purpose instead of by
 * chance in server restarts. */
#include "memory_private.h"

static const char *const slot_names[SB_MEMORY_NSLOTS] = {
	"init",   "add",          "take",   "settle", "put_back",
	"count",  "reserved",     "create", "get",    "put_if_absent",
	"export", "ledger count", "claim",
};

sb_mem_fault sb_mem_enter(sb_mem_db *db, sb_memory_slot slot)
{
	sb_mem_plan *p = &db->plans[slot];
	sb_mem_fault f = { 0, 0, slot };

	if (p->countdown && --p->countdown == 0) {
		f.when = (int)p->when;
		f.code = p->code;
	}
	return f;
}

int sb_mem_leave(sb_store *st, sb_mem_fault f, int rc)
{
	if (!f.when)
		return rc;
	sb_seterr(st->box, f.code,
	          "memory: injected failure of %s %s its "
	          "work (code %d)",
	          slot_names[f.slot],
	          f.when == SB_MEMORY_FAIL_BEFORE ? "before" : "after", f.code);
	return f.code;
}
