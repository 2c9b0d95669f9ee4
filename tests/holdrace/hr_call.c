/* One API call on a thread of its own, timed: the race parts start two
 * at about the same moment and judge the outcome from what each got and
 * when it started and returned. */
#include "hr.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

hr_call hr_call_of(sb_box *box, const char *bank, const char *ledger,
                   const char *id, hr_op op, int role)
{
	return (hr_call){ .box = box,
		          .bank = bank,
		          .ledger = ledger,
		          .id = id,
		          .op = op,
		          .role = role };
}

void hr_call_run(hr_call *c)
{
	sb_item *it = NULL;

	hr_gate_role(c->role);
	if (c->at_us)
		hr_sleep_until_us(c->at_us);
	if (c->barrier)
		pthread_barrier_wait(c->barrier);
	c->item = NULL;
	c->is_new = 0;
	c->expires = -1;
	memset(&c->rr, 0, sizeof c->rr);
	c->t0 = hr_now_us();
	switch (c->op) {
	case HR_FETCH:
		c->rc = sb_box_fetch(&it, c->box, c->bank, c->ledger, c->id);
		break;
	case HR_HOLD:
		c->rc = sb_box_hold(&it, c->box, c->bank, c->ledger, c->id,
		                    c->ttl_ms);
		break;
	case HR_CONFIRM:
		c->rc = sb_box_confirm(c->box, c->ledger, c->id);
		break;
	case HR_EXTEND:
		c->rc = sb_box_extend(c->box, c->ledger, c->id, c->ttl_ms);
		break;
	case HR_RELEASE:
		c->rc = sb_box_release(c->box, c->ledger, c->id, c->flags);
		break;
	case HR_RECOVER:
		c->rc = sb_box_recover(&c->rr, c->box, c->bank, c->ledger,
		                       NULL);
		break;
	}
	/* Atomic: a test may look whether the call returned yet. */
	__atomic_store_n(&c->t1, hr_now_us(), __ATOMIC_RELEASE);
	if (it) {
		c->item = t_xstrdup(sb_item_value(it));
		c->is_new = sb_item_is_new(it);
		c->expires = sb_item_expires_ms(it);
		sb_item_free(it);
	}
	if (c->role)
		hr_gate_done();
}

static void *call_main(void *p)
{
	hr_call_run(p);
	return NULL;
}

void hr_call_start(hr_call *c)
{
	if (pthread_create(&c->thread, NULL, call_main, c) != 0) {
		fprintf(stderr, "hold_race: cannot start a thread\n");
		exit(99);
	}
}

void hr_call_join(hr_call *c)
{
	pthread_join(c->thread, NULL);
}

void hr_call_clear(hr_call *c)
{
	free(c->item);
	c->item = NULL;
}

const char *hr_op_name(hr_op op)
{
	static const char *names[] = { "fetch",  "hold",    "confirm",
		                       "extend", "release", "recover" };
	return names[op];
}
