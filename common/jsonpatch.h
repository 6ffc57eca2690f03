/* jsonpatch: build RFC 6902 JSON Patch documents op by op, with RFC 6901 escaping. */
#ifndef TWA_JSONPATCH_H
#define TWA_JSONPATCH_H

#include <stddef.h>

#include <jansson.h>

struct jsonpatch;

/* A new empty patch. Caller frees with jsonpatch_free. */
struct jsonpatch *jsonpatch_new(void);
/* Free a patch; NULL is a no-op. */
void jsonpatch_free(struct jsonpatch *p);

/*
 * Append one operation: op is "add", "replace", "test" or "remove"; the
 * path is the nseg unescaped segments (each escaped here: '~' as "~0", '/'
 * as "~1"; "-" appends to an array); value is stolen (NULL for "remove",
 * required otherwise). Returns 0, or -1 and an allocated cause for an
 * unknown op or a missing value (the value is released either way).
 */
int jsonpatch_op(struct jsonpatch *p, const char *op,
    const char *const *segs, size_t nseg, json_t *value, char **cause);

/*
 * Variadic forms: the path segments follow the value and end with NULL,
 * e.g. jsonpatch_add(p, json_string("x"), "metadata", "annotations",
 * "twa.dev/status", NULL). The value is stolen. They cannot fail for a
 * non-NULL value (a NULL value makes them abort: a programming error).
 */
void jsonpatch_add(struct jsonpatch *p, json_t *value, ...)
    __attribute__((sentinel));
void jsonpatch_replace(struct jsonpatch *p, json_t *value, ...)
    __attribute__((sentinel));
void jsonpatch_test(struct jsonpatch *p, json_t *value, ...)
    __attribute__((sentinel));
void jsonpatch_remove(struct jsonpatch *p, ...) __attribute__((sentinel));

/* Number of operations so far. */
size_t jsonpatch_len(const struct jsonpatch *p);
/* The operation array; owned by p. */
json_t *jsonpatch_json(const struct jsonpatch *p);
/* The patch as compact JSON text. Caller frees. */
char *jsonpatch_dump(const struct jsonpatch *p);

/* Escape one path segment per RFC 6901 ("a/b~c" -> "a~1b~0c"). Caller frees. */
char *jsonpatch_escape(const char *seg);
/* A JSON Pointer from nseg unescaped segments ("/a/b~1c"). Caller frees. */
char *jsonpatch_pointer(const char *const *segs, size_t nseg);

#endif
