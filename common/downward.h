/*
 * downward: the Kubernetes downward-API file format for a pod's labels and
 * annotations: one `key="value"` per line, keys sorted, the value quoted
 * like Go's strconv.Quote, lines joined by '\n' (no newline after the last
 * line; one is tolerated). Pure parsing, no I/O.
 */
#ifndef TWA_DOWNWARD_H
#define TWA_DOWNWARD_H

#include <stddef.h>

/* Largest file accepted (Kubernetes caps all annotations at 256 KiB raw). */
#define DOWNWARD_MAX_BYTES	(2u * 1024 * 1024)
/* Longest key accepted: a 253-byte DNS prefix, '/', a 63-byte name. */
#define DOWNWARD_MAX_KEY	317

/* One key/value pair (plain data; strings owned by the set). */
struct downward_entry {
	char	*key;
	char	*value;		/* decoded; never contains a NUL byte */
	size_t	 line;		/* 1-based line number in the file */
};

/* Every pair of one file, in file order (plain data). */
struct downward {
	struct downward_entry	*v;
	size_t			 n;
};

/*
 * Parse len bytes of buf (need not be NUL-terminated) into out. Strict:
 * a line that is not key="value" with a valid key and a valid quoted
 * value, a duplicate key, a NUL byte, invalid UTF-8 outside escapes, or
 * more than DOWNWARD_MAX_BYTES fail the whole file. Returns 0, or -1 with
 * out empty and an allocated cause naming the line and the problem. Free
 * out with downward_clear.
 */
int downward_parse(const char *buf, size_t len, struct downward *out,
    char **cause);
/* Free the pairs of d and zero it. */
void downward_clear(struct downward *d);
/* The value of key in d, or NULL; owned by d. */
const char *downward_get(const struct downward *d, const char *key);
/*
 * Decode one double-quoted Go string literal s[0..len) (with its quotes)
 * as strconv.Unquote does: \a \b \f \n \r \t \v \\ \" \xNN \NNN (octal,
 * at most 255) \uNNNN \UNNNNNNNN (valid Unicode scalar values). A decoded
 * NUL byte is refused. Returns the value (caller frees), or NULL and an
 * allocated cause.
 */
char *downward_unquote(const char *s, size_t len, char **cause);

#endif
