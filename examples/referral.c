/* referral.c: 5,000 referral links, one per IP address, first come first
 * served. */
#include <stdio.h>
#include <storagebox/storagebox.h>

#define LINKS 5000

/* What the web handler does on a click: 1 a new link, 0 a repeat (same
 * link again), 2 too late, -1 an error. */
static int on_click(sb_box *box, const char *ip)
{
	sb_item *link;
	int rc = sb_box_fetch(&link, box, "referral-links", "referral-ips", ip);

	if (rc == SB_EMPTY)
		return 2;
	if (rc != SB_OK) {
		fprintf(stderr, "%s: %s\n", ip, sb_box_errmsg(box));
		return -1;
	}
	/* ...redirect the browser to sb_item_value(link)... */
	rc = sb_item_is_new(link);
	sb_item_free(link);
	return rc;
}

static int count_row(const char *ip, const char *bank, const char *item,
                     void *payload)
{
	(void)ip;
	(void)bank;
	(void)item;
	++*(long *)payload;
	return 0; /* go on */
}

int main(void)
{
	static char links[LINKS][48];
	const char *items[LINKS];
	char err[SB_ERRMSG_SIZE], ip[32];
	long answers[4] = { 0 }, rows = 0; /* repeat, new, too late, error */
	sb_item *known;
	sb_box *box;

	if (sb_box_open(&box, "sqlite:referral.db", NULL, err, sizeof err)) {
		fprintf(stderr, "%s\n", err);
		return 1;
	}
	for (int i = 0; i < LINKS; i++) {
		snprintf(links[i], sizeof links[i],
		         "https://example.com/r/%05d", i);
		items[i] = links[i];
	}
	if (sb_box_add(NULL, box, "referral-links", items, LINKS) != SB_OK) {
		fprintf(stderr, "add: %s\n", sb_box_errmsg(box));
		sb_box_close(box);
		return 1;
	}

	/* 6,000 addresses click, three times each. */
	for (int click = 0; click < 3; click++)
		for (int i = 0; i < 6000; i++) {
			snprintf(ip, sizeof ip, "10.0.%d.%d", i / 250,
			         i % 250 + 1);
			int r = on_click(box, ip);
			answers[r < 0 ? 3 : r]++;
		}
	printf("new %ld, repeats %ld, too late %ld, errors %ld\n", answers[1],
	       answers[0], answers[2], answers[3]);

	/* Read without claiming. */
	if (sb_box_lookup(&known, box, "referral-ips", "10.0.0.1") == SB_OK) {
		printf("10.0.0.1 holds %s\n", sb_item_value(known));
		sb_item_free(known);
	}
	if (sb_box_lookup(&known, box, "referral-ips", "10.0.23.250") ==
	    SB_ENOTFOUND)
		printf("10.0.23.250 came too late\n");

	if (sb_box_export(box, "referral-ips", count_row, &rows) != SB_OK)
		fprintf(stderr, "export: %s\n", sb_box_errmsg(box));
	printf("%ld addresses hold a link\n", rows);
	sb_box_close(box);
	return 0;
}
