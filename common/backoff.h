/* backoff: jittered exponential retry delays, a pure function of its inputs. */
#ifndef TWA_BACKOFF_H
#define TWA_BACKOFF_H

#include <stdint.h>

/* A retry policy: first delay, ceiling, and the most attempts (0: unbounded). */
struct backoff_policy {
	int64_t		base_ms;
	int64_t		cap_ms;
	unsigned	max_attempts;
};

/*
 * Delay before retry number attempt (0 for the first retry) under p, with
 * "equal jitter": half of min(cap, base * 2^attempt) plus a share of the other
 * half chosen by rnd (any 64-bit random value). When the server asked for
 * retry_after_ms (>= 0; -1 when it did not), the delay is at least that,
 * capped at 10 times the policy's ceiling. Returns -1 when attempt reaches
 * max_attempts.
 */
int64_t backoff_delay(const struct backoff_policy *p, unsigned attempt,
    uint64_t rnd, int64_t retry_after_ms);

#endif
