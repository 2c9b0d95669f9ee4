/* school.c: three classes share one ledger; each student gets at most one
 * class. */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <storagebox/storagebox.h>

static int seat(sb_box *box, const char *class_name, const char *student)
{
	sb_item *item;
	int rc = sb_box_fetch(&item, box, class_name, "students", student);

	if (rc == SB_OK) {
		printf("%s asked %s: seat %s in %s%s\n", student, class_name,
		       sb_item_value(item), sb_item_bank(item),
		       strcmp(sb_item_bank(item), class_name) ? " (kept)" : "");
		sb_item_free(item);
	} else if (rc == SB_EMPTY) {
		printf("%s asked %s: class is full\n", student, class_name);
	} else {
		fprintf(stderr, "%s: %s\n", student, sb_box_errmsg(box));
	}
	return rc;
}

int main(void)
{
	const char *class1[] = { "c1-seat-1", "c1-seat-2" };
	const char *class2[] = { "c2-seat-1", "c2-seat-2" };
	const char *class3[] = { "c3-seat-1" };
	char err[SB_ERRMSG_SIZE];
	sb_stats st;
	sb_box *box;

	if (sb_box_open(&box, "sqlite::memory:", NULL, err, sizeof err)) {
		fprintf(stderr, "%s\n", err);
		return 1;
	}
	if (sb_box_add(NULL, box, "class-1", class1, 2) ||
	    sb_box_add(NULL, box, "class-2", class2, 2) ||
	    sb_box_add(NULL, box, "class-3", class3, 1)) {
		fprintf(stderr, "add: %s\n", sb_box_errmsg(box));
		sb_box_close(box);
		return 1;
	}

	seat(box, "class-1", "ann"); /* c1-seat-1 in class-1 */
	seat(box, "class-2", "ann"); /* c1-seat-1 in class-1 (kept) */
	seat(box, "class-2", "bob"); /* c2-seat-1 in class-2 */
	seat(box, "class-3", "cid"); /* c3-seat-1 in class-3 */
	seat(box, "class-3", "dan"); /* class is full */
	seat(box, "class-1", "dan"); /* c1-seat-2 in class-1 */

	if (sb_box_stats(&st, box, "class-2", "students") == SB_OK)
		printf("class-2: available %" PRIu64 ", assigned %" PRIu64
		       ", students holding a class-2 seat %" PRIu64 "\n",
		       st.available, st.assigned, st.held);
	sb_box_close(box);
	return 0;
}
