/* Every crash point of the core, and the race of two first requests for
 * one id, driven in-process through the fault hook (fault builds only):
 * "dying" at a point leaves the store exactly as a killed client would. */
#include "proto_util.h"

/* What the hook does at a point: die there, or run a twin request to
 * completion there (deterministic interleaving). Each fires once. */
typedef struct {
	const char *point;
	enum {
		DIE,
		RUN_TWIN
	} action;
	int fired;
	sb_box *twin_box;
	const char *bank, *ledger, *id;
	int twin_rc;
	char *twin_value;
} plan;

static int hook(const char *point, void *payload)
{
	plan *p = payload;

	if (p->fired || strcmp(point, p->point) != 0)
		return 0;
	p->fired = 1;
	if (p->action == DIE)
		return 1;
	p->twin_value = fetch(p->twin_box, p->bank, p->ledger, p->id,
	                      &p->twin_rc);
	return 0;
}

static void conserved(sb_box *box, const char *bank, uint64_t total)
{
	sb_stats s = stats_of(box, bank);
	CHECK(NULL, s.available + s.reserved + s.assigned == total);
}

/* Die at @p point during a generic fetch; recovery rolls forward. */
static void die_then_recover(const char *point, int expect_settled)
{
	char name[64];
	sb_box *box, *other;
	plan p = { point, DIE, 0, NULL, NULL, NULL, NULL, 0, NULL };
	sb_recover_result rr;
	sb_stats s;
	char *v;
	int rc;

	snprintf(name, sizeof(name), "memory:die-%s", point);
	box = open_box(name, NULL, SB_PROTOCOL_GENERIC);
	other = open_box(name, NULL, SB_PROTOCOL_AUTO);
	load(box, "bk", "it", 3);
	sb__fault_set_hook(hook, &p);
	v = fetch(box, "bk", "L", "victim", &rc);
	sb__fault_set_hook(NULL, NULL);
	CHECK(NULL, p.fired && rc == SB_ERROR);
	CHECK(NULL, strstr(sb_box_errmsg(box), point) != NULL);
	free(v);
	s = stats_of(box, "bk");
	CHECK(NULL, s.reserved == 1);
	conserved(box, "bk", 3);

	/* A fresh reservation is not touched by a fetch of another id. */
	v = fetch(other, "bk", "L", "bystander", &rc);
	CHECK(NULL, rc == SB_OK);
	free(v);
	CHECK(NULL, stats_of(box, "bk").reserved == 1);

	CHECK_RC(box, sb_box_recover(&rr, box, "bk", "L", NULL), SB_OK);
	CHECK(NULL, rr.settled == (uint64_t)expect_settled);
	CHECK(NULL, rr.put_back == 0 && rr.foreign == 0);
	s = stats_of(box, "bk");
	CHECK(NULL, s.reserved == 0 && s.assigned == 2 && s.available == 1);
	/* The victim holds the item recovery recorded; a retry returns it. */
	v = fetch(other, "bk", "L", "victim", &rc);
	CHECK(NULL, rc == SB_OK && v);
	free(v);
	CHECK(NULL, stats_of(box, "bk").assigned == 2);
	CHECK_RC(box, sb_box_recover(&rr, box, "bk", "L", NULL), SB_OK);
	CHECK(NULL, rr.settled == 0 && rr.put_back == 0);
	sb_box_close(other);
	sb_box_close(box);
}

/* Twin requests for one id: the second runs entirely while the first sits
 * at "after_take". Both must answer the same item, and the loser's item
 * must go back. */
static void twin_race(sb_protocol twin_protocol, int bank_size)
{
	char name[64];
	sb_box *a, *b;
	plan p = {
		SB_FP_AFTER_TAKE, RUN_TWIN, 0, NULL, "bk", "L", "dup", 0, NULL
	};
	char *va;
	sb_stats s;
	int rc;

	snprintf(name, sizeof(name), "memory:twin-%d-%d", (int)twin_protocol,
	         bank_size);
	a = open_box(name, NULL, SB_PROTOCOL_GENERIC);
	b = open_box(name, NULL, twin_protocol);
	p.twin_box = b;
	load(a, "bk", "it", bank_size);
	sb__fault_set_hook(hook, &p);
	va = fetch(a, "bk", "L", "dup", &rc);
	sb__fault_set_hook(NULL, NULL);
	CHECK(NULL, p.fired);
	CHECK(NULL, rc == SB_OK && p.twin_rc == SB_OK);
	CHECK(NULL, va && p.twin_value && strcmp(va, p.twin_value) == 0);
	s = stats_of(a, "bk");
	CHECK(NULL, s.assigned == 1 && s.reserved == 0);
	CHECK(NULL, s.available == (uint64_t)bank_size - 1);
	free(va);
	free(p.twin_value);
	sb_box_close(b);
	sb_box_close(a);
}

/* Die after losing the race, holding an item that must go back: the twin
 * wins at "after_take", then the loser dies at "before_put_back". */
typedef struct {
	plan steps[2];
	size_t next;
} sequence;

static int seq_hook(const char *point, void *payload)
{
	sequence *q = payload;

	if (q->next >= 2 || strcmp(point, q->steps[q->next].point) != 0)
		return 0;
	return hook(point, &q->steps[q->next++]);
}

static void die_before_put_back(void)
{
	sb_box *a = open_box("memory:dpb", NULL, SB_PROTOCOL_GENERIC);
	sb_box *b = open_box("memory:dpb", NULL, SB_PROTOCOL_AUTO);
	sequence q = { {
			       { SB_FP_AFTER_TAKE, RUN_TWIN, 0, NULL, "bk", "L",
		                 "dup", 0, NULL },
			       { SB_FP_BEFORE_PUT_BACK, DIE, 0, NULL, NULL,
		                 NULL, NULL, 0, NULL },
		       },
		       0 };
	sb_recover_result rr;
	sb_stats s;
	char *v;
	int rc;

	q.steps[0].twin_box = b;
	load(a, "bk", "it", 3);
	sb__fault_set_hook(seq_hook, &q);
	v = fetch(a, "bk", "L", "dup", &rc);
	sb__fault_set_hook(NULL, NULL);
	/* Dying there does not change the answer: the twin's item. */
	CHECK(NULL, q.next == 2 && q.steps[0].twin_rc == SB_OK);
	CHECK(NULL, rc == SB_OK && v && q.steps[0].twin_value &&
	                    strcmp(v, q.steps[0].twin_value) == 0);
	free(v);
	free(q.steps[0].twin_value);
	s = stats_of(a, "bk");
	CHECK(NULL, s.reserved == 1 && s.assigned == 1);
	conserved(a, "bk", 3);
	CHECK_RC(a, sb_box_recover(&rr, a, "bk", "L", NULL), SB_OK);
	CHECK(NULL, rr.put_back == 1 && rr.settled == 0);
	s = stats_of(a, "bk");
	CHECK(NULL, s.reserved == 0 && s.assigned == 1 && s.available == 2);
	sb_box_close(b);
	sb_box_close(a);
}

/* Recovery itself dies after recording: a second recovery settles. */
static void recovery_dies(void)
{
	sb_box *box = open_box("memory:rd", NULL, SB_PROTOCOL_GENERIC);
	plan p = { SB_FP_AFTER_TAKE, DIE, 0, NULL, NULL, NULL, NULL, 0, NULL };
	plan r = { SB_FP_RECOVER_AFTER_RECORD,
		   DIE,
		   0,
		   NULL,
		   NULL,
		   NULL,
		   NULL,
		   0,
		   NULL };
	sb_recover_result rr;
	char *v;
	int rc;

	load(box, "bk", "it", 2);
	sb__fault_set_hook(hook, &p);
	v = fetch(box, "bk", "L", "u", &rc);
	free(v);
	sb__fault_set_hook(hook, &r);
	CHECK_RC(box, sb_box_recover(&rr, box, "bk", "L", NULL), SB_ERROR);
	sb__fault_set_hook(NULL, NULL);
	CHECK(NULL, stats_of(box, "bk").reserved == 1);
	CHECK_RC(box, sb_box_recover(&rr, box, "bk", "L", NULL), SB_OK);
	CHECK(NULL, rr.settled == 1);
	CHECK(NULL, stats_of(box, "bk").reserved == 0);
	conserved(box, "bk", 2);
	sb_box_close(box);
}

/* Sold out while a dead client holds the last item: with a short lease
 * the next fetch rolls it forward before answering; the dead client's id
 * keeps the item (never lost, never given twice). */
static void stale_before_empty(void)
{
	sb_box *box = open_box("memory:stale?lease=0", NULL,
	                       SB_PROTOCOL_GENERIC);
	sb_box *fused = open_box("memory:stale?lease=60", NULL,
	                         SB_PROTOCOL_AUTO);
	plan p = { SB_FP_AFTER_TAKE, DIE, 0, NULL, NULL, NULL, NULL, 0, NULL };
	char *v, *w;
	int rc;

	load(box, "bk", "only", 1);
	sb__fault_set_hook(hook, &p);
	v = fetch(box, "bk", "L", "dead", &rc);
	sb__fault_set_hook(NULL, NULL);
	free(v);
	/* lease=60: the fused box leaves the young reservation alone. */
	v = fetch(fused, "bk", "L", "late", &rc);
	CHECK(NULL, rc == SB_EMPTY);
	CHECK(NULL, stats_of(box, "bk").reserved == 1);
	/* lease=0 (the default): rolled forward into the ledger. */
	v = fetch(box, "bk", "L", "later", &rc);
	CHECK(NULL, rc == SB_EMPTY && v == NULL);
	CHECK(NULL, stats_of(box, "bk").reserved == 0);
	w = fetch(fused, "bk", "L", "dead", &rc);
	CHECK(NULL, rc == SB_OK);
	CHECK_STR(NULL, w, "only-0");
	free(w);
	sb_box_close(fused);
	sb_box_close(box);
}

/* A sold-out fused claim skips the recovery pass only while nothing is
 * reserved: with a dead client's reservation in the bank, the fetch that
 * finds the bank empty rolls it forward first (and the dead client's id
 * keeps its item); once nothing is reserved, one claim per fetch again. */
static void sellout_with_reservation(void)
{
	sb_box *gen = open_box("memory:swr", NULL, SB_PROTOCOL_GENERIC);
	sb_box *box = open_box("memory:swr", NULL, SB_PROTOCOL_AUTO);
	plan p = { SB_FP_AFTER_TAKE, DIE, 0, NULL, NULL, NULL, NULL, 0, NULL };
	sb_memory_calls c0, c1, c2;
	char *v;
	int rc;

	load(box, "bk", "it", 2);
	sb__fault_set_hook(hook, &p);
	v = fetch(gen, "bk", "L", "dead", &rc);
	sb__fault_set_hook(NULL, NULL);
	free(v);
	CHECK(NULL, p.fired && stats_of(box, "bk").reserved == 1);
	v = fetch(box, "bk", "L", "a", &rc);
	CHECK(NULL, rc == SB_OK);
	free(v);

	CHECK(NULL, sb__memory_calls("swr", &c0) == 0);
	v = fetch(box, "bk", "L", "b", &rc);
	CHECK(NULL, rc == SB_EMPTY && v == NULL);
	CHECK(NULL, sb__memory_calls("swr", &c1) == 0);
	CHECK(NULL, c1.claim - c0.claim == 2 && c1.reserved - c0.reserved == 1);
	CHECK(NULL, stats_of(box, "bk").reserved == 0);

	v = fetch(box, "bk", "L", "c", &rc);
	CHECK(NULL, rc == SB_EMPTY && v == NULL);
	CHECK(NULL, sb__memory_calls("swr", &c2) == 0);
	CHECK(NULL, c2.claim - c1.claim == 1 && c2.reserved == c1.reserved);

	v = fetch(box, "bk", "L", "dead", &rc);
	CHECK(NULL, rc == SB_OK && v && strcmp(v, "it-0") == 0);
	free(v);
	conserved(box, "bk", 2);
	sb_box_close(box);
	sb_box_close(gen);
}

/* A twin that finds the bank empty because its twin holds the last item
 * reserved rolls that reservation forward and answers the same item. */
static void twin_at_sellout(void)
{
	sb_box *a = open_box("memory:tas", NULL, SB_PROTOCOL_GENERIC);
	sb_box *b = open_box("memory:tas", NULL, SB_PROTOCOL_GENERIC);
	plan p = {
		SB_FP_AFTER_TAKE, RUN_TWIN, 0, NULL, "bk", "L", "dup", 0, NULL
	};
	char *va;
	int rc;

	p.twin_box = b;
	load(a, "bk", "last", 1);
	sb__fault_set_hook(hook, &p);
	va = fetch(a, "bk", "L", "dup", &rc);
	sb__fault_set_hook(NULL, NULL);
	CHECK(NULL, rc == SB_OK && p.twin_rc == SB_OK);
	CHECK(NULL, va && p.twin_value && strcmp(va, p.twin_value) == 0);
	CHECK(NULL, stats_of(a, "bk").assigned == 1);
	CHECK(NULL, stats_of(a, "bk").reserved == 0);
	free(va);
	free(p.twin_value);
	sb_box_close(b);
	sb_box_close(a);
}

/* Reservations made for another ledger are not this recovery's. */
static void foreign_ledger(void)
{
	sb_box *box = open_box("memory:foreign", NULL, SB_PROTOCOL_GENERIC);
	plan p = { SB_FP_AFTER_TAKE, DIE, 0, NULL, NULL, NULL, NULL, 0, NULL };
	sb_recover_result rr;
	char *v;
	int rc;

	load(box, "bk", "it", 2);
	sb__fault_set_hook(hook, &p);
	v = fetch(box, "bk", "ledger-A", "u", &rc);
	sb__fault_set_hook(NULL, NULL);
	free(v);
	CHECK_RC(box, sb_box_recover(&rr, box, "bk", "ledger-B", NULL), SB_OK);
	CHECK(NULL, rr.foreign == 1 && rr.settled == 0);
	CHECK_RC(box, sb_box_recover(&rr, box, "bk", "ledger-A", NULL), SB_OK);
	CHECK(NULL, rr.settled == 1 && rr.foreign == 0);
	sb_box_close(box);
}

int main(void)
{
#if !SB_FAULT_INJECTION
	fprintf(stderr, "built without -Dfault_injection=true\n");
	return T_SKIP;
#endif
	die_then_recover(SB_FP_AFTER_TAKE, 1);
	die_then_recover(SB_FP_AFTER_RECORD, 1);
	twin_race(SB_PROTOCOL_GENERIC, 3);
	twin_race(SB_PROTOCOL_AUTO, 3);
	twin_race(SB_PROTOCOL_AUTO, 1);
	die_before_put_back();
	recovery_dies();
	stale_before_empty();
	twin_at_sellout();
	sellout_with_reservation();
	foreign_ledger();
	return t_summary();
}
