/* vouchers.c: a movie store gives a voucher code to each of the first 30
 * users who ask. Run it with a user name: ./vouchers alice@example.com */
#include <inttypes.h>
#include <stdio.h>
#include <storagebox/storagebox.h>

int main(int argc, char **argv)
{
	const char *user = argc > 1 ? argv[1] : "alice@example.com";
	char err[SB_ERRMSG_SIZE], codes[30][16];
	const char *items[30];
	sb_add_result added;
	sb_item *item;
	sb_box *box;
	int rc;

	if (sb_box_open(&box, "sqlite:shop.db", NULL, err, sizeof err) !=
	    SB_OK) {
		fprintf(stderr, "cannot open the store: %s\n", err);
		return 1;
	}

	/* Load the codes. Running this again adds nothing: codes the bank
	 * already holds, handed out or not, are skipped. */
	for (int i = 0; i < 30; i++) {
		snprintf(codes[i], sizeof codes[i], "MOVIE-%04d", i + 1);
		items[i] = codes[i];
	}
	if (sb_box_add(&added, box, "vouchers", items, 30) != SB_OK) {
		fprintf(stderr, "add: %s\n", sb_box_errmsg(box));
		sb_box_close(box);
		return 1;
	}
	printf("added %" PRIu64 ", skipped %" PRIu64 "\n", added.added,
	       added.skipped);

	/* The user presses "get my voucher", as often as they like, on any
	 * of your servers: they always get the same code. */
	rc = sb_box_fetch(&item, box, "vouchers", "voucher-users", user);
	if (rc == SB_OK) {
		printf("%s: your code is %s\n", user, sb_item_value(item));
		sb_item_free(item);
	} else if (rc == SB_EMPTY) {
		printf("%s: sorry, all codes are gone\n", user);
	} else {
		fprintf(stderr, "fetch: %s: %s\n", sb_strerror(rc),
		        sb_box_errmsg(box));
	}
	sb_box_close(box);
	return rc < 0;
}
