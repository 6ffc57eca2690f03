/* parse: bounded number, duration and percentage parsing. */
#include "config.h"

#include <ctype.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "parse.h"
#include "xalloc.h"

/* Longest input quoted back in an error message. */
#define PARSE_QUOTE_MAX 64

/* Quote a value for an error message. Caller frees. */
char *
parse_quote(const char *s)
{
	size_t n = strlen(s);
	char *out = xmalloc(PARSE_QUOTE_MAX * 4 + 8), *p = out;

	*p++ = '"';
	for (size_t i = 0; i < n && i < PARSE_QUOTE_MAX; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == '"' || c == '\\') {
			*p++ = '\\';
			*p++ = (char)c;
		} else if (c < ' ' || c >= 0x7f)
			p += sprintf(p, "\\x%02x", c);
		else
			*p++ = (char)c;
	}
	*p++ = '"';
	if (n > PARSE_QUOTE_MAX)
		p += sprintf(p, "...");
	*p = '\0';
	return out;
}

/* Parse a decimal integer within bounds. */
int
parse_int(const char *s, int64_t min, int64_t max, int64_t *out, char **cause)
{
	const char *p = s;
	bool neg = false;
	uint64_t v = 0, limit;
	char *q;

	if (*p == '-') {
		neg = true;
		p++;
	}
	if (!isdigit((unsigned char)*p))
		goto notnum;
	limit = neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
	for (; isdigit((unsigned char)*p); p++) {
		unsigned d = (unsigned)(*p - '0');

		if (v > (limit - d) / 10)
			goto range;
		v = v * 10 + d;
	}
	if (*p != '\0')
		goto notnum;
	{
		int64_t r = neg ? (v == (uint64_t)INT64_MAX + 1 ? INT64_MIN :
		    -(int64_t)v) : (int64_t)v;

		if (r < min || r > max)
			goto range;
		*out = r;
	}
	return 0;
notnum:
	q = parse_quote(s);
	*cause = xasprintf("%s is not a whole number (expected %" PRId64
	    "..%" PRId64 ")", q, min, max);
	free(q);
	return -1;
range:
	q = parse_quote(s);
	*cause = xasprintf("%s is out of range (expected %" PRId64
	    "..%" PRId64 ")", q, min, max);
	free(q);
	return -1;
}

/* Milliseconds per unit at *p, advancing past it; 0 if no unit is there. */
static int64_t
parse_unit(const char **p)
{
	static const struct { const char *name; int64_t ms; } units[] = {
		{ "ms", 1 }, { "s", 1000 }, { "m", 60000 }, { "h", 3600000 },
		{ "d", 86400000 },
	};

	for (size_t i = 0; i < sizeof units / sizeof units[0]; i++) {
		size_t n = strlen(units[i].name);

		if (strncmp(*p, units[i].name, n) == 0 &&
		    !isalpha((unsigned char)(*p)[n])) {
			*p += n;
			return units[i].ms;
		}
	}
	return 0;
}

/* Parse a duration within bounds, in milliseconds. */
int
parse_duration(const char *s, int64_t min_ms, int64_t max_ms, int64_t *out_ms,
    char **cause)
{
	char lo[PARSE_DURATION_LEN], hi[PARSE_DURATION_LEN];
	const char *p = s;
	int64_t total = 0;
	char *q;

	if (strcmp(s, "0") == 0)
		goto check;
	if (*p == '\0')
		goto bad;
	while (*p != '\0') {
		uint64_t whole = 0, frac = 0, fscale = 1;
		int64_t unit, part;
		bool digits = false;

		for (; isdigit((unsigned char)*p); p++) {
			if (whole > (UINT64_MAX - 9) / 10)
				goto range;
			whole = whole * 10 + (uint64_t)(*p - '0');
			digits = true;
		}
		if (*p == '.') {
			for (p++; isdigit((unsigned char)*p); p++) {
				if (fscale < 1000000000) {
					frac = frac * 10 + (uint64_t)(*p - '0');
					fscale *= 10;
				}
				digits = true;
			}
		}
		if (!digits)
			goto bad;
		if ((unit = parse_unit(&p)) == 0)
			goto bad;
		if (whole > (uint64_t)INT64_MAX / (uint64_t)unit)
			goto range;
		part = (int64_t)whole * unit +
		    (int64_t)(frac * (uint64_t)unit / fscale);
		if (total > INT64_MAX - part)
			goto range;
		total += part;
	}
check:
	if (total < min_ms || total > max_ms)
		goto range;
	*out_ms = total;
	return 0;
bad:
	parse_duration_format(min_ms, lo);
	parse_duration_format(max_ms, hi);
	q = parse_quote(s);
	*cause = xasprintf("%s is not a duration (expected a number with "
	    "a unit ms, s, m, h or d, like 30s, 5m or 1h30m, from %s to %s)",
	    q, lo, hi);
	free(q);
	return -1;
range:
	parse_duration_format(min_ms, lo);
	parse_duration_format(max_ms, hi);
	q = parse_quote(s);
	*cause = xasprintf("%s is out of range (expected from %s to %s)", q,
	    lo, hi);
	free(q);
	return -1;
}

/* Format milliseconds as the shortest duration string. */
void
parse_duration_format(int64_t ms, char out[PARSE_DURATION_LEN])
{
	static const struct { const char *name; int64_t ms; } units[] = {
		{ "d", 86400000 }, { "h", 3600000 }, { "m", 60000 },
		{ "s", 1000 }, { "ms", 1 },
	};
	size_t len = 0;
	uint64_t left;

	if (ms == 0) {
		snprintf(out, PARSE_DURATION_LEN, "0s");
		return;
	}
	if (ms < 0) {
		out[len++] = '-';
		left = (uint64_t)0 - (uint64_t)ms;
	} else
		left = (uint64_t)ms;
	out[len] = '\0';
	for (size_t i = 0; i < sizeof units / sizeof units[0]; i++) {
		uint64_t n = left / (uint64_t)units[i].ms;

		if (n == 0)
			continue;
		len += (size_t)snprintf(out + len, PARSE_DURATION_LEN - len,
		    "%" PRIu64 "%s", n, units[i].name);
		left -= n * (uint64_t)units[i].ms;
	}
}

/* Parse "<n>%" within bounds. */
int
parse_percent(const char *s, int min, int max, int *out, char **cause)
{
	size_t len = strlen(s);
	char *num, *inner = NULL;
	int64_t v;

	if (len < 2 || s[len - 1] != '%') {
		num = parse_quote(s);
		*cause = xasprintf("%s is not a percentage (expected "
		    "%d%%..%d%%)", num, min, max);
		free(num);
		return -1;
	}
	num = xstrndup(s, len - 1);
	if (parse_int(num, min, max, &v, &inner) != 0) {
		free(inner);
		free(num);
		num = parse_quote(s);
		*cause = xasprintf("%s is not a percentage in range "
		    "(expected %d%%..%d%%)", num, min, max);
		free(num);
		return -1;
	}
	free(num);
	*out = (int)v;
	return 0;
}
