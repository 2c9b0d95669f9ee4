/* holds.c: 300 seats, each held for a buyer for 2 seconds while they pay.
 * Most pay, some cancel after paying, some walk away; the seats of those
 * who did not pay go back on sale by themselves. */
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <storagebox/storagebox.h>
#include <time.h>

#define SEATS   300
#define BUYERS  400
#define HOLD_MS 2000

static char seat_names[SEATS][16];

/* Buyer b pays (7 in 10), pays then cancels (1 in 10), or walks away. */
enum {
	PAYS,
	CANCELS,
	WALKS_AWAY
};
static int choice(int b)
{
	return b % 10 < 7 ? PAYS : b % 10 == 7 ? CANCELS : WALKS_AWAY;
}

/* A seat for buyer b, held for HOLD_MS: 1 if held, 0 if sold out. */
static int hold_seat(sb_box *box, int b)
{
	char buyer[32];
	sb_item *seat;
	int rc;

	snprintf(buyer, sizeof buyer, "buyer-%03d", b);
	rc = sb_box_hold(&seat, box, "gala", "gala-buyers", buyer, HOLD_MS);
	if (rc == SB_OK)
		sb_item_free(seat);
	else if (rc != SB_EMPTY)
		fprintf(stderr, "%s: %s\n", buyer, sb_box_errmsg(box));
	return rc == SB_OK;
}

static int pay(sb_box *box, int b)
{
	char buyer[32];

	snprintf(buyer, sizeof buyer, "buyer-%03d", b);
	return sb_box_confirm(box, "gala-buyers", buyer);
}

int main(int argc, char **argv)
{
	const char *uri = argc > 1 ? argv[1] : "sqlite:gala.db";
	const char *items[SEATS];
	char err[SB_ERRMSG_SIZE];
	int held = 0, sold_out = 0, paid = 0, cancelled = 0, second = 0;
	struct timespec wait = { HOLD_MS / 1000 + 1, 0 };
	sb_stats st;
	sb_box *box;

	if (sb_box_open(&box, uri, NULL, err, sizeof err) != SB_OK) {
		fprintf(stderr, "%s\n", err);
		return 1;
	}
	for (int i = 0; i < SEATS; i++) {
		snprintf(seat_names[i], sizeof seat_names[i], "seat-%03d",
		         i + 1);
		items[i] = seat_names[i];
	}
	if (sb_box_add(NULL, box, "gala", items, SEATS) != SB_OK) {
		fprintf(stderr, "add: %s\n", sb_box_errmsg(box));
		sb_box_close(box);
		return 1;
	}

	/* Everyone asks; the first 300 hold a seat. */
	for (int b = 0; b < BUYERS; b++) {
		if (hold_seat(box, b))
			held++;
		else
			sold_out++;
	}
	printf("held %d, told sold out %d\n", held, sold_out);

	/* The holders pay, cancel after paying, or walk away. */
	for (int b = 0; b < held; b++) {
		char buyer[32];

		if (choice(b) == WALKS_AWAY)
			continue;
		paid += pay(box, b) == SB_OK;
		if (choice(b) == CANCELS) {
			snprintf(buyer, sizeof buyer, "buyer-%03d", b);
			cancelled += sb_box_release(box, "gala-buyers", buyer,
			                            SB_RELEASE_RESTOCK) ==
			             SB_OK;
		}
	}
	printf("paid %d, cancelled %d\n", paid, cancelled);

	/* The walk-aways' holds lapse; one comes back too late. */
	nanosleep(&wait, NULL);
	printf("buyer-008 pays late: %s\n", sb_strerror(pay(box, 8)));

	/* Those told "sold out" try again, and pay at once. */
	for (int b = held; b < BUYERS; b++)
		if (hold_seat(box, b) && pay(box, b) == SB_OK)
			second++;
	printf("second chance: %d seats sold\n", second);

	if (sb_box_stats(&st, box, "gala", NULL) != SB_OK) {
		fprintf(stderr, "stats: %s\n", sb_box_errmsg(box));
		sb_box_close(box);
		return 1;
	}
	printf("available %" PRIu64 ", on hold %" PRIu64 ", assigned %" PRIu64
	       "\n",
	       st.available, st.on_hold, st.assigned);
	sb_box_close(box);
	return 0;
}
