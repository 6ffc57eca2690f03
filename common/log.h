/* log: logfmt lines on stderr, or journal entries when stderr is the journal. */
#ifndef TWA_LOG_H
#define TWA_LOG_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

enum log_level {
	LOG_LEVEL_DEBUG = 0,
	LOG_LEVEL_INFO,
	LOG_LEVEL_WARN,
	LOG_LEVEL_ERROR,
};

enum log_field_type { LOG_F_NONE, LOG_F_STR, LOG_F_INT, LOG_F_UINT, LOG_F_DBL };

/* One key=value field of a log line. Built with the LS/LI/LU/LD macros. */
struct log_field {
	const char		*key;
	enum log_field_type	 type;
	union {
		const char	*s;
		intmax_t	 i;
		uintmax_t	 u;
		double		 d;
	} v;
};

#define LS(k, x) ((struct log_field){ .key = (k), .type = LOG_F_STR, .v.s = (x) })
#define LI(k, x) ((struct log_field){ .key = (k), .type = LOG_F_INT, .v.i = (intmax_t)(x) })
#define LU(k, x) ((struct log_field){ .key = (k), .type = LOG_F_UINT, .v.u = (uintmax_t)(x) })
#define LD(k, x) ((struct log_field){ .key = (k), .type = LOG_F_DBL, .v.d = (double)(x) })

/*
 * Log a message with fields; the level is checked before anything is
 * formatted. Example: log_info("lease", "acquired", LS("holder", h), LI("n", 3));
 */
#define TWA_LOG(lvl, sub, msg, ...) do {					\
	if (log_enabled(lvl)) {							\
		const struct log_field log_f_[] = {				\
		    { .type = LOG_F_NONE }, ##__VA_ARGS__ };			\
		log_emit((lvl), (sub), (msg), log_f_ + 1,			\
		    sizeof log_f_ / sizeof log_f_[0] - 1);			\
	}									\
} while (0)
#define log_debug(sub, msg, ...) TWA_LOG(LOG_LEVEL_DEBUG, sub, msg, ##__VA_ARGS__)
#define log_info(sub, msg, ...)  TWA_LOG(LOG_LEVEL_INFO, sub, msg, ##__VA_ARGS__)
#define log_warn(sub, msg, ...)  TWA_LOG(LOG_LEVEL_WARN, sub, msg, ##__VA_ARGS__)
#define log_error(sub, msg, ...) TWA_LOG(LOG_LEVEL_ERROR, sub, msg, ##__VA_ARGS__)

/* Pick the sink: the journal when JOURNAL_STREAM names our stderr, else stderr. */
void log_init(void);
/* Whether lines go to the journal. */
bool log_sink_is_journal(void);
/* Send lines to f instead (tests); NULL restores stderr. Disables the journal. */
void log_set_stream(FILE *f);
/* Set the lowest level written. */
void log_set_level(enum log_level lvl);
/* Current lowest level written. */
enum log_level log_get_level(void);
/* Whether a line of this level would be written. */
bool log_enabled(enum log_level lvl);
/* Parse "debug", "info", "warn" or "error"; -1 if none of them. */
int log_level_parse(const char *s, enum log_level *out);
/* Name of a level ("info"); static storage. */
const char *log_level_name(enum log_level lvl);
/* Set (value non-NULL) or clear a context field put on every line (pod, build, role). */
void log_set_context(const char *key, const char *value);
/* Drop all context fields and free their storage. */
void log_reset_context(void);
/* Write one line; use the log_* macros instead. */
void log_emit(enum log_level lvl, const char *sub, const char *msg,
    const struct log_field *f, size_t nf);

/*
 * Format one logfmt line (with trailing newline) for the given time in
 * microseconds since the epoch. Pure; the caller frees the result.
 */
char *log_format_line(int64_t now_us, enum log_level lvl, const char *sub,
    const char *msg, const struct log_field *ctx, size_t nctx,
    const struct log_field *f, size_t nf);

#endif
