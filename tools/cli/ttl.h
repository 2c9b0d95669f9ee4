/* Times of holds on the command line: the --ttl durations of `hold` and
 * `extend`, and deadlines printed in RFC 3339 UTC. */
#ifndef SB_CLI_TTL_H
#define SB_CLI_TTL_H

#include <stddef.h>
#include <stdint.h>

/* Room for "2026-12-02T12:49:03.250Z" and a NUL (years up to 9999). */
#define CLI_DEADLINE_SIZE 32

/**
 * Parse a duration: whole numbers, each followed by a unit (ms, s, m, h,
 * d), in any combination ("90s", "10m", "1h30m", "1500ms"), from 1 ms to
 * SB_MAX_TTL_MS (30 days). A number alone is refused: "90" could mean
 * seconds or milliseconds.
 * @param why receives a static reason on failure
 * @return 0, or -1
 */
int cli_parse_ttl(const char *s, int64_t *ms, const char **why);

/** @p ms since the Unix epoch as "YYYY-MM-DDTHH:MM:SS.mmmZ". */
void cli_format_deadline(char *buf, size_t size, int64_t ms);

#endif
