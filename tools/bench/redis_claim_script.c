/* Prints the Lua source of the Redis backend's fused claim (the hold
 * script, which claims for good with ttl 0) on stdout.
 * tools/bench.sh loads it and runs it under redis-benchmark with the
 * baseline's client count: the claim's cost on the server alone, without
 * storagebox's client, to tell the script's work from the client's. */
#include "backends/redis/redis_private.h"

#include <stdio.h>

int main(void)
{
	return fputs(sb_rd_script_src[SB_RD_SCRIPT_HOLD], stdout) == EOF ||
	       fflush(stdout) != 0;
}
