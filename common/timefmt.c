/* timefmt: RFC 3339 timestamps with microseconds (Kubernetes MicroTime). */
#include "config.h"

#include <ctype.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "parse.h"
#include "timefmt.h"
#include "xalloc.h"

/* Microseconds since the epoch on the wall clock. */
int64_t
timefmt_now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* Milliseconds on the monotonic clock. */
int64_t
timefmt_mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Format microseconds since the epoch as RFC 3339 UTC, six digits. */
void
timefmt_micro(int64_t us, char out[TIMEFMT_MICRO_LEN])
{
	int64_t secs = us / 1000000, frac = us % 1000000;
	time_t t;
	struct tm tm;

	if (frac < 0) {
		frac += 1000000;
		secs--;
	}
	t = (time_t)secs;
	if (gmtime_r(&t, &tm) == NULL || tm.tm_year + 1900 > 9999 ||
	    tm.tm_year + 1900 < 0) {
		memcpy(out, "0001-01-01T00:00:00.000000Z", TIMEFMT_MICRO_LEN);
		return;
	}
	{
		char buf[96];

		snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%06dZ",
		    tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
		    tm.tm_min, tm.tm_sec, (int)frac);
		memcpy(out, buf, TIMEFMT_MICRO_LEN - 1);
		out[TIMEFMT_MICRO_LEN - 1] = '\0';
	}
}

/* Read exactly n digits at *p into *v; advance *p. */
static int
timefmt_digits(const char **p, int n, int *v)
{
	*v = 0;
	for (int i = 0; i < n; i++) {
		if (!isdigit((unsigned char)(*p)[i]))
			return -1;
		*v = *v * 10 + ((*p)[i] - '0');
	}
	*p += n;
	return 0;
}

/* Days in a month of a year. */
static int
timefmt_mdays(int year, int mon)
{
	static const int d[] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
	bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;

	return mon == 2 && leap ? 29 : d[mon - 1];
}

/* Parse an RFC 3339 timestamp. */
int
timefmt_parse(const char *s, int64_t *us, char **cause)
{
	const char *p = s;
	int year, mon, day, hour, min, sec, oh = 0, om = 0, sign = 0;
	int64_t frac = 0, scale = 100000;
	struct tm tm;
	time_t t;

	if (timefmt_digits(&p, 4, &year) || *p++ != '-' ||
	    timefmt_digits(&p, 2, &mon) || *p++ != '-' ||
	    timefmt_digits(&p, 2, &day) || (*p != 'T' && *p != 't') ||
	    (p++, timefmt_digits(&p, 2, &hour)) || *p++ != ':' ||
	    timefmt_digits(&p, 2, &min) || *p++ != ':' ||
	    timefmt_digits(&p, 2, &sec))
		goto bad;
	if (mon < 1 || mon > 12 || day < 1 || day > timefmt_mdays(year, mon) ||
	    hour > 23 || min > 59 || sec > 60)
		goto bad;
	if (*p == '.') {
		int n = 0;

		p++;
		while (isdigit((unsigned char)*p)) {
			if (++n > 9)
				goto bad;
			if (scale > 0) {
				frac += (*p - '0') * scale;
				scale /= 10;
			}
			p++;
		}
		if (n == 0)
			goto bad;
	}
	if (*p == 'Z' || *p == 'z')
		p++;
	else if (*p == '+' || *p == '-') {
		sign = *p++ == '+' ? 1 : -1;
		if (timefmt_digits(&p, 2, &oh) || *p++ != ':' ||
		    timefmt_digits(&p, 2, &om) || oh > 23 || om > 59)
			goto bad;
	} else
		goto bad;
	if (*p != '\0')
		goto bad;
	memset(&tm, 0, sizeof tm);
	tm.tm_year = year - 1900;
	tm.tm_mon = mon - 1;
	tm.tm_mday = day;
	tm.tm_hour = hour;
	tm.tm_min = min;
	tm.tm_sec = sec > 59 ? 59 : sec;
	t = timegm(&tm);
	t -= sign * (oh * 3600 + om * 60);
	*us = (int64_t)t * 1000000 + frac;
	return 0;
bad:
	if (cause != NULL) {
		char *q = parse_quote(s);

		*cause = xasprintf("timestamp %s is not RFC 3339 "
		    "(expected like 2006-01-02T15:04:05.000000Z)", q);
		free(q);
	}
	return -1;
}
