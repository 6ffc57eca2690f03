/* parse: bounded number, duration and percentage parsing. */
#ifndef TWA_PARSE_H
#define TWA_PARSE_H

#include <stddef.h>
#include <stdint.h>

/*
 * Quote s for an error message: in double quotes, '"' and '\\' escaped,
 * bytes outside printable ASCII as \xNN, cut after 64 bytes with "...".
 * Caller frees.
 */
char *parse_quote(const char *s);

/* Longest string duration_format writes, with NUL. */
#define PARSE_DURATION_LEN 40

/*
 * Parse a decimal integer in [min, max]. No spaces, no '+', no hex.
 * Returns 0, or -1 and an allocated cause naming the input and the range.
 */
int parse_int(const char *s, int64_t min, int64_t max, int64_t *out,
    char **cause);
/*
 * Parse a duration like "30s", "5m", "1h30m", "1.5h", "250ms", "7d" or "0"
 * into milliseconds in [min_ms, max_ms]. Returns 0, or -1 and an allocated
 * cause naming the input and what is expected.
 */
int parse_duration(const char *s, int64_t min_ms, int64_t max_ms,
    int64_t *out_ms, char **cause);
/* Write ms as the shortest duration string ("1h30m", "250ms", "0s"). */
void parse_duration_format(int64_t ms, char out[PARSE_DURATION_LEN]);
/*
 * Parse "<n>%" with n in [min, max]. Returns 0, or -1 and an allocated
 * cause.
 */
int parse_percent(const char *s, int min, int max, int *out, char **cause);

#endif
