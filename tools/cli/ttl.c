/* --ttl durations and RFC 3339 deadlines (see ttl.h). Units are required
 * because the API counts milliseconds and people count seconds: a bare
 * "90" would be wrong one way or the other. */
#include "ttl.h"

#include "storagebox/storagebox.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

/* Milliseconds per unit; the longest match wins ("ms" before "m"). */
static const struct {
	const char *name;
	int64_t ms;
} units[] = { { "ms", 1 },          { "s", 1000 },         { "m", 60 * 1000 },
	      { "h", 3600 * 1000 }, { "d", 86400 * 1000 }, { NULL, 0 } };

/* Unit at @p s: its length, and its size in *ms; 0 if none. */
static size_t unit_at(const char *s, int64_t *ms)
{
	for (int i = 0; units[i].name; i++) {
		size_t n = strlen(units[i].name);

		if (strncmp(s, units[i].name, n) == 0) {
			*ms = units[i].ms;
			return n;
		}
	}
	return 0;
}

int cli_parse_ttl(const char *s, int64_t *ms, const char **why)
{
	int64_t total = 0;

	if (!*s) {
		*why = "is empty";
		return -1;
	}
	while (*s) {
		int64_t n = 0, unit;
		size_t len;

		if (*s < '0' || *s > '9') {
			*why = "wants a whole number and a unit";
			return -1;
		}
		for (; *s >= '0' && *s <= '9'; s++) {
			n = n * 10 + (*s - '0');
			/* Past 30 days already: stop before any overflow. */
			if (n > SB_MAX_TTL_MS) {
				*why = "is more than 30 days";
				return -1;
			}
		}
		len = unit_at(s, &unit);
		if (!len) {
			*why = *s ? "has an unknown unit"
			          : "has no unit (ms, s, m, h or d)";
			return -1;
		}
		s += len;
		if (n > (SB_MAX_TTL_MS - total) / unit) {
			*why = "is more than 30 days";
			return -1;
		}
		total += n * unit;
	}
	if (total == 0) {
		*why = "is 0";
		return -1;
	}
	*ms = total;
	return 0;
}

void cli_format_deadline(char *buf, size_t size, int64_t ms)
{
	time_t secs = (time_t)(ms / 1000);
	struct tm tm;
	char day[24];

	if (ms < 0 || !gmtime_r(&secs, &tm) ||
	    strftime(day, sizeof day, "%Y-%m-%dT%H:%M:%S", &tm) == 0) {
		snprintf(buf, size, "(deadline %lld ms)", (long long)ms);
		return;
	}
	snprintf(buf, size, "%s.%03dZ", day, (int)(ms % 1000));
}
