/* seats.c: 10,300 seats, 11,000 buyers clicking twice, 8 ticket servers.
 * Build with -pthread. */
#include <inttypes.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <storagebox/storagebox.h>

#define ROWS          103
#define SEATS_PER_ROW 100
#define SEATS         (ROWS * SEATS_PER_ROW)
#define BUYERS        11000
#define SERVERS       8

static const char *uri = "sqlite:event.db";
static char seat_names[SEATS][16];

typedef struct {
	int first;     /* serves buyers first, first + SERVERS, ... */
	long booked;   /* seats this server handed out */
	long sold_out; /* buyers it told "sold out" */
} ticket_server;

static void *serve(void *arg)
{
	ticket_server *ts = arg;
	char err[SB_ERRMSG_SIZE], buyer[32];
	sb_box *box; /* one box per thread */

	if (sb_box_open(&box, uri, NULL, err, sizeof err) != SB_OK) {
		fprintf(stderr, "server %d: %s\n", ts->first, err);
		return NULL;
	}
	for (int b = ts->first; b < BUYERS; b += SERVERS) {
		snprintf(buyer, sizeof buyer, "buyer-%05d", b);
		for (int click = 0; click < 2; click++) {
			sb_item *seat;
			int rc = sb_box_fetch(&seat, box, "concert",
			                      "concert-buyers", buyer);
			if (rc == SB_OK) {
				ts->booked += sb_item_is_new(seat);
				sb_item_free(seat);
			} else if (rc == SB_EMPTY) {
				ts->sold_out += click == 0;
			} else {
				fprintf(stderr, "%s: %s\n", buyer,
				        sb_box_errmsg(box));
			}
		}
	}
	sb_box_close(box);
	return NULL;
}

int main(void)
{
	const char *items[SEATS];
	char err[SB_ERRMSG_SIZE];
	ticket_server ts[SERVERS];
	pthread_t tid[SERVERS];
	long booked = 0, sold_out = 0;
	sb_stats st;
	sb_box *box;

	if (sb_box_open(&box, uri, NULL, err, sizeof err) != SB_OK) {
		fprintf(stderr, "%s\n", err);
		return 1;
	}
	for (int i = 0; i < SEATS; i++) {
		snprintf(seat_names[i], sizeof seat_names[i], "R%03d-S%03d",
		         i / SEATS_PER_ROW + 1, i % SEATS_PER_ROW + 1);
		items[i] = seat_names[i];
	}
	if (sb_box_add(NULL, box, "concert", items, SEATS) != SB_OK) {
		fprintf(stderr, "add: %s\n", sb_box_errmsg(box));
		sb_box_close(box);
		return 1;
	}

	for (int i = 0; i < SERVERS; i++) {
		ts[i] = (ticket_server){ .first = i };
		pthread_create(&tid[i], NULL, serve, &ts[i]);
	}
	for (int i = 0; i < SERVERS; i++) {
		pthread_join(tid[i], NULL);
		booked += ts[i].booked;
		sold_out += ts[i].sold_out;
	}

	if (sb_box_stats(&st, box, "concert", "concert-buyers") != SB_OK) {
		fprintf(stderr, "stats: %s\n", sb_box_errmsg(box));
		sb_box_close(box);
		return 1;
	}
	printf("booked now %ld, told sold out %ld\n", booked, sold_out);
	printf("available %" PRIu64 ", reserved %" PRIu64 ", assigned %" PRIu64
	       ", buyers holding a seat %" PRIu64 "\n",
	       st.available, st.reserved, st.assigned, st.held);
	sb_box_close(box);
	return 0;
}
