/* `storagebox demo --holds`: the box office (demo_holds.c runs it,
 * demo_holds_report.c checks every law, lapses included, and tells what
 * happened). */
#ifndef SB_CLI_DEMO_HOLDS_H
#define SB_CLI_DEMO_HOLDS_H

#include "storagebox/storagebox.h"

#include <stdint.h>

#define DH_ROWS          15
#define DH_SEATS_PER_ROW 20
#define DH_SEATS         (DH_ROWS * DH_SEATS_PER_ROW)
#define DH_BUYERS        400
#define DH_CLICKS        2     /* every request is clicked twice */
#define DH_TTL_MS        2000  /* a hold while the buyer pays */
#define DH_EXTEND_MS     3000  /* "more time, please" */
#define DH_RETRY_TTL_MS  60000 /* the resale pays at once: never lapses */
#define DH_BANK          "seats"
#define DH_LEDGER        "buyers"

/* What a buyer means to do once a seat is held. */
enum {
	DH_PAY,      /* confirm (twice: a double click on "pay") */
	DH_SLOW_PAY, /* extend, then confirm */
	DH_ABANDON,  /* walk away: the hold lapses */
	DH_LATE_PAY, /* walk away, try to pay after the deadline, retry */
	DH_CANCEL,   /* confirm, then release (twice) */
	DH_RETIRE,   /* confirm, then release --retire: a broken seat */
	DH_NPLANS
};

/** One call and its answer. Times are the wall clock in ms, the clock
 *  SQLite and the memory store keep deadlines by, so the report can
 *  hold each answer to its deadline. */
typedef struct {
	int done;        /* the call was made */
	int rc;          /* its result */
	int is_new;      /* hold: sb_item_is_new() */
	int64_t expires; /* hold, lookup: sb_item_expires_ms() */
	int64_t t0, t1;  /* wall clock before and after */
	unsigned s0, s1; /* a shared counter before and after: two calls
	                    overlapped if each began before the other ended */
	char seat[16];   /* hold, lookup: the seat on SB_OK */
} dh_call;

typedef struct {
	int plan;
	dh_call rush[DH_CLICKS];  /* the rush: twin holds */
	dh_call lookup;           /* abandoners, while the hold runs */
	dh_call extend;           /* DH_SLOW_PAY */
	dh_call confirm[2];       /* pay (and pay again) */
	dh_call release[2];       /* DH_CANCEL, DH_RETIRE */
	dh_call late;             /* DH_LATE_PAY: confirm after the deadline */
	int retries;              /* takes part in the resale */
	dh_call retry[DH_CLICKS]; /* the resale: twin holds */
	dh_call retry_confirm;
} dh_buyer;

typedef struct {
	char seats[DH_SEATS][16];
	char names[DH_BUYERS][16];
	dh_buyer b[DH_BUYERS];
	int workers;
	unsigned long long seed;
	const char *uri;
	int temp; /* the store is a temp file */
	int generic;
	int opened; /* workers whose box opened */
	double t_rush, t_checkout, t_wait, t_resale; /* seconds */
	/* Before the resale, after every lapse. */
	int pre_ok;
	sb_stats pre;
	int pre_live; /* live holds exported then (want 0) */
	/* The end: recover, stats, export, live holds. */
	int rec_rc, end_ok, export_rc, holds_rc;
	sb_recover_result rec;
	sb_stats end;
	int end_live;
	char first_error[SB_ERRMSG_SIZE];
} dh_run;

struct cli_ctx;

/** Run the box office on @p uri (a fresh store; @p temp: a temp file,
 *  removed at the end) with @p workers threads. @return the exit code */
int dh_main(struct cli_ctx *c, const char *uri, int temp, int workers,
            unsigned long long seed);

/** Wall clock in milliseconds. */
int64_t dh_now_ms(void);

/** The seat a call answered, or NULL. */
const char *dh_seat(const dh_call *c);

/** Check every law from @p run and from the store, print the story and
 *  the verdict. @return 0 if every law holds, 1 if not */
int dh_report(dh_run *run, sb_box *box);

#endif
