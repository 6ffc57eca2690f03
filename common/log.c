/* log: logfmt lines on stderr, or journal entries when stderr is the journal. */
#include "config.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include <systemd/sd-journal.h>

#include "log.h"
#include "timefmt.h"
#include "xalloc.h"

#define LOG_MAX_CONTEXT 8

static enum log_level	 log_level = LOG_LEVEL_INFO;
static FILE		*log_stream;
static bool		 log_journal;
static struct log_field	 log_ctx[LOG_MAX_CONTEXT];
static size_t		 log_nctx;

static const char *const log_names[] = { "debug", "info", "warn", "error" };

/* Whether JOURNAL_STREAM names the device and inode of our stderr. */
static bool
log_stderr_is_journal(void)
{
	const char *js = getenv("JOURNAL_STREAM");
	unsigned long long dev, ino;
	struct stat st;
	char tail;

	if (js == NULL || sscanf(js, "%llu:%llu%c", &dev, &ino, &tail) != 2)
		return false;
	if (fstat(STDERR_FILENO, &st) != 0)
		return false;
	return (unsigned long long)st.st_dev == dev &&
	    (unsigned long long)st.st_ino == ino;
}

/* Choose the sink for this process. */
void
log_init(void)
{
	log_stream = NULL;
	log_journal = log_stderr_is_journal();
}

/* Whether lines go to the journal. */
bool
log_sink_is_journal(void)
{
	return log_journal;
}

/* Redirect lines to f (NULL: stderr). */
void
log_set_stream(FILE *f)
{
	log_stream = f;
	log_journal = false;
}

/* Set the threshold. */
void
log_set_level(enum log_level lvl)
{
	log_level = lvl;
}

/* Get the threshold. */
enum log_level
log_get_level(void)
{
	return log_level;
}

/* Whether lvl passes the threshold. */
bool
log_enabled(enum log_level lvl)
{
	return lvl >= log_level;
}

/* Parse a level name. */
int
log_level_parse(const char *s, enum log_level *out)
{
	for (size_t i = 0; i < sizeof log_names / sizeof log_names[0]; i++) {
		if (strcmp(s, log_names[i]) == 0) {
			*out = (enum log_level)i;
			return 0;
		}
	}
	return -1;
}

/* Name of a level. */
const char *
log_level_name(enum log_level lvl)
{
	if ((unsigned)lvl >= sizeof log_names / sizeof log_names[0])
		return "unknown";
	return log_names[lvl];
}

/* Set or clear one context field; keys and values are copied. */
void
log_set_context(const char *key, const char *value)
{
	size_t i;

	for (i = 0; i < log_nctx; i++)
		if (strcmp(log_ctx[i].key, key) == 0)
			break;
	if (i < log_nctx) {
		free((char *)log_ctx[i].v.s);
		if (value != NULL) {
			log_ctx[i].v.s = xstrdup(value);
			return;
		}
		free((char *)log_ctx[i].key);
		memmove(&log_ctx[i], &log_ctx[i + 1],
		    (log_nctx - i - 1) * sizeof log_ctx[0]);
		log_nctx--;
		return;
	}
	if (value == NULL || log_nctx == LOG_MAX_CONTEXT)
		return;
	log_ctx[log_nctx++] = LS(xstrdup(key), xstrdup(value));
}

/* Forget every context field. */
void
log_reset_context(void)
{
	for (size_t i = 0; i < log_nctx; i++) {
		free((char *)log_ctx[i].key);
		free((char *)log_ctx[i].v.s);
	}
	log_nctx = 0;
}

/* Whether a logfmt value must be quoted. */
static bool
log_needs_quotes(const char *s)
{
	if (*s == '\0')
		return true;
	for (; *s != '\0'; s++) {
		unsigned char c = (unsigned char)*s;

		if (c <= ' ' || c == '"' || c == '=' || c == '\\' || c == 0x7f)
			return true;
	}
	return false;
}

/* Append a logfmt value, quoted and escaped when needed. */
static void
log_put_value(FILE *f, const char *s)
{
	if (s == NULL) {
		fputs("null", f);
		return;
	}
	if (!log_needs_quotes(s)) {
		fputs(s, f);
		return;
	}
	fputc('"', f);
	for (; *s != '\0'; s++) {
		unsigned char c = (unsigned char)*s;

		switch (c) {
		case '"':  fputs("\\\"", f); break;
		case '\\': fputs("\\\\", f); break;
		case '\n': fputs("\\n", f); break;
		case '\r': fputs("\\r", f); break;
		case '\t': fputs("\\t", f); break;
		default:
			if (c < ' ' || c == 0x7f)
				fprintf(f, "\\u%04x", c);
			else
				fputc(c, f);
		}
	}
	fputc('"', f);
}

/* Append " key=value" for each field. */
static void
log_put_fields(FILE *f, const struct log_field *fl, size_t n)
{
	char num[64];

	for (size_t i = 0; i < n; i++) {
		fprintf(f, " %s=", fl[i].key);
		switch (fl[i].type) {
		case LOG_F_STR:
			log_put_value(f, fl[i].v.s);
			break;
		case LOG_F_INT:
			fprintf(f, "%jd", fl[i].v.i);
			break;
		case LOG_F_UINT:
			fprintf(f, "%ju", fl[i].v.u);
			break;
		case LOG_F_DBL:
			snprintf(num, sizeof num, "%g", fl[i].v.d);
			fputs(num, f);
			break;
		case LOG_F_NONE:
			fputs("\"\"", f);
			break;
		}
	}
}

/* Format one logfmt line. Caller frees. */
char *
log_format_line(int64_t now_us, enum log_level lvl, const char *sub,
    const char *msg, const struct log_field *ctx, size_t nctx,
    const struct log_field *f, size_t nf)
{
	char ts[TIMEFMT_MICRO_LEN], *buf = NULL;
	size_t len = 0;
	FILE *m;

	m = open_memstream(&buf, &len);
	if (m == NULL)
		abort();
	timefmt_micro(now_us, ts);
	fprintf(m, "ts=%s level=%s", ts, log_level_name(lvl));
	log_put_fields(m, ctx, nctx);
	if (sub != NULL)
		fprintf(m, " sub=%s", sub);
	fputs(" msg=", m);
	log_put_value(m, msg);
	log_put_fields(m, f, nf);
	fputc('\n', m);
	if (fclose(m) != 0)
		abort();
	return buf;
}

/* Map a level to a syslog priority. */
static int
log_priority(enum log_level lvl)
{
	switch (lvl) {
	case LOG_LEVEL_DEBUG: return LOG_DEBUG;
	case LOG_LEVEL_INFO:  return LOG_INFO;
	case LOG_LEVEL_WARN:  return LOG_WARNING;
	default:              return LOG_ERR;
	}
}

/* Send one entry to the journal: MESSAGE plus each field as TWA_<KEY>. */
static void
log_to_journal(enum log_level lvl, const char *sub, const char *msg,
    const struct log_field *f, size_t nf)
{
	size_t n = nf + log_nctx + 3, k = 0;
	struct iovec *iov = xcalloc(n, sizeof *iov);
	char **strs = xcalloc(n, sizeof *strs);

	strs[k++] = xasprintf("PRIORITY=%d", log_priority(lvl));
	strs[k++] = xasprintf("MESSAGE=%s", msg);
	strs[k++] = xasprintf("TWA_SUBSYSTEM=%s", sub != NULL ? sub : "");
	for (size_t pass = 0; pass < 2; pass++) {
		const struct log_field *fl = pass == 0 ? log_ctx : f;
		size_t cnt = pass == 0 ? log_nctx : nf;

		for (size_t i = 0; i < cnt; i++) {
			char *key = xstrdup(fl[i].key), *p;

			for (p = key; *p != '\0'; p++)
				*p = isalnum((unsigned char)*p) ?
				    (char)toupper((unsigned char)*p) : '_';
			switch (fl[i].type) {
			case LOG_F_STR:
				strs[k] = xasprintf("TWA_%s=%s", key,
				    fl[i].v.s != NULL ? fl[i].v.s : "");
				break;
			case LOG_F_INT:
				strs[k] = xasprintf("TWA_%s=%jd", key, fl[i].v.i);
				break;
			case LOG_F_UINT:
				strs[k] = xasprintf("TWA_%s=%ju", key, fl[i].v.u);
				break;
			case LOG_F_DBL:
				strs[k] = xasprintf("TWA_%s=%g", key, fl[i].v.d);
				break;
			default:
				strs[k] = xasprintf("TWA_%s=", key);
			}
			k++;
			free(key);
		}
	}
	for (size_t i = 0; i < k; i++) {
		iov[i].iov_base = strs[i];
		iov[i].iov_len = strlen(strs[i]);
	}
	sd_journal_sendv(iov, (int)k);
	for (size_t i = 0; i < k; i++)
		free(strs[i]);
	free(strs);
	free(iov);
}

/* Write one line to the chosen sink. */
void
log_emit(enum log_level lvl, const char *sub, const char *msg,
    const struct log_field *f, size_t nf)
{
	FILE *out = log_stream != NULL ? log_stream : stderr;
	char *line;

	if (!log_enabled(lvl))
		return;
	if (log_journal) {
		log_to_journal(lvl, sub, msg, f, nf);
		return;
	}
	line = log_format_line(timefmt_now_us(), lvl, sub, msg, log_ctx,
	    log_nctx, f, nf);
	fputs(line, out);
	fflush(out);
	free(line);
}
