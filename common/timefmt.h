/* timefmt: RFC 3339 timestamps with microseconds (Kubernetes MicroTime). */
#ifndef TWA_TIMEFMT_H
#define TWA_TIMEFMT_H

#include <stdint.h>

/* "2006-01-02T15:04:05.000000Z" plus NUL. */
#define TIMEFMT_MICRO_LEN 28

/* Microseconds since the epoch on the wall clock. */
int64_t timefmt_now_us(void);
/* Milliseconds on the monotonic clock (for deadlines and intervals). */
int64_t timefmt_mono_ms(void);
/* Write us (microseconds since the epoch, UTC) with exactly six fractional digits. */
void timefmt_micro(int64_t us, char out[TIMEFMT_MICRO_LEN]);
/*
 * Parse an RFC 3339 timestamp (fraction of 0-9 digits, Z or +hh:mm) into
 * microseconds since the epoch. Returns 0, or -1 and an allocated cause.
 */
int timefmt_parse(const char *s, int64_t *us, char **cause);

#endif
