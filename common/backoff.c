/* backoff: jittered exponential retry delays, a pure function of its inputs. */
#include "config.h"

#include "backoff.h"

/* Delay before retry number attempt. */
int64_t
backoff_delay(const struct backoff_policy *p, unsigned attempt, uint64_t rnd,
    int64_t retry_after_ms)
{
	int64_t d = p->base_ms > 0 ? p->base_ms : 1, cap = p->cap_ms, half, r;

	if (p->max_attempts != 0 && attempt >= p->max_attempts)
		return -1;
	if (cap < d)
		cap = d;
	for (unsigned i = 0; i < attempt && d < cap; i++)
		d = d > cap / 2 ? cap : d * 2;
	if (d > cap)
		d = cap;
	half = d / 2;
	r = d - half + (int64_t)(rnd % (uint64_t)(half + 1));
	if (retry_after_ms >= 0) {
		int64_t ceiling = cap > INT64_MAX / 10 ? INT64_MAX : cap * 10;

		if (retry_after_ms > ceiling)
			retry_after_ms = ceiling;
		if (r < retry_after_ms)
			r = retry_after_ms;
	}
	return r;
}
