/* jsonpatch: build RFC 6902 JSON Patch documents op by op, with RFC 6901 escaping. */
#include "config.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "jsonpatch.h"
#include "xalloc.h"

/* Most path segments the variadic forms accept. */
#define JSONPATCH_MAX_SEGS 32

struct jsonpatch {
	json_t	*ops;
};

/* A new empty patch; caller frees. */
struct jsonpatch *
jsonpatch_new(void)
{
	struct jsonpatch *p = xcalloc(1, sizeof *p);

	p->ops = json_array();
	if (p->ops == NULL)
		abort();
	return p;
}

/* Free a patch. */
void
jsonpatch_free(struct jsonpatch *p)
{
	if (p == NULL)
		return;
	json_decref(p->ops);
	free(p);
}

/* Escape one segment; caller frees. */
char *
jsonpatch_escape(const char *seg)
{
	size_t n = 0;
	char *out, *o;

	for (const char *s = seg; *s != '\0'; s++)
		n += (*s == '~' || *s == '/') ? 2 : 1;
	out = o = xmalloc(n + 1);
	for (const char *s = seg; *s != '\0'; s++) {
		if (*s == '~') {
			*o++ = '~';
			*o++ = '0';
		} else if (*s == '/') {
			*o++ = '~';
			*o++ = '1';
		} else
			*o++ = *s;
	}
	*o = '\0';
	return out;
}

/* Build a pointer from segments; caller frees. */
char *
jsonpatch_pointer(const char *const *segs, size_t nseg)
{
	size_t len = 0, off = 0;
	char **esc = xcalloc(nseg + 1, sizeof *esc), *out;

	for (size_t i = 0; i < nseg; i++) {
		esc[i] = jsonpatch_escape(segs[i]);
		len += 1 + strlen(esc[i]);
	}
	out = xmalloc(len + 1);
	for (size_t i = 0; i < nseg; i++) {
		size_t l = strlen(esc[i]);

		out[off++] = '/';
		memcpy(out + off, esc[i], l);
		off += l;
		free(esc[i]);
	}
	out[off] = '\0';
	free(esc);
	return out;
}

/* Append one operation; the value is stolen. */
int
jsonpatch_op(struct jsonpatch *p, const char *op, const char *const *segs,
    size_t nseg, json_t *value, char **cause)
{
	json_t *o;
	char *path;
	bool needs_value;

	if (strcmp(op, "remove") == 0)
		needs_value = false;
	else if (strcmp(op, "add") == 0 || strcmp(op, "replace") == 0 ||
	    strcmp(op, "test") == 0)
		needs_value = true;
	else {
		json_decref(value);
		*cause = xasprintf("JSON Patch op \"%.32s\" is not supported "
		    "(expected add, replace, test or remove)", op);
		return -1;
	}
	if (needs_value && value == NULL) {
		*cause = xasprintf("JSON Patch op \"%s\" needs a value", op);
		return -1;
	}
	if (!needs_value && value != NULL) {
		json_decref(value);
		*cause = xstrdup("JSON Patch op \"remove\" takes no value");
		return -1;
	}
	path = jsonpatch_pointer(segs, nseg);
	o = json_pack("{s:s, s:s}", "op", op, "path", path);
	free(path);
	if (o == NULL)
		abort();
	if (value != NULL)
		json_object_set_new(o, "value", value);
	json_array_append_new(p->ops, o);
	return 0;
}

/* Collect NULL-terminated segments from ap and append the op; aborts on misuse. */
static void
jsonpatch_opv(struct jsonpatch *p, const char *op, json_t *value, va_list ap)
{
	const char *segs[JSONPATCH_MAX_SEGS];
	const char *s;
	size_t n = 0;
	char *cause = NULL;

	while ((s = va_arg(ap, const char *)) != NULL) {
		if (n == JSONPATCH_MAX_SEGS)
			abort();
		segs[n++] = s;
	}
	if (jsonpatch_op(p, op, segs, n, value, &cause) != 0) {
		free(cause);
		abort();
	}
}

/* Append an "add" op; value stolen, segments end with NULL. */
void
jsonpatch_add(struct jsonpatch *p, json_t *value, ...)
{
	va_list ap;

	va_start(ap, value);
	jsonpatch_opv(p, "add", value, ap);
	va_end(ap);
}

/* Append a "replace" op; value stolen, segments end with NULL. */
void
jsonpatch_replace(struct jsonpatch *p, json_t *value, ...)
{
	va_list ap;

	va_start(ap, value);
	jsonpatch_opv(p, "replace", value, ap);
	va_end(ap);
}

/* Append a "test" op; value stolen, segments end with NULL. */
void
jsonpatch_test(struct jsonpatch *p, json_t *value, ...)
{
	va_list ap;

	va_start(ap, value);
	jsonpatch_opv(p, "test", value, ap);
	va_end(ap);
}

/* Append a "remove" op; segments end with NULL. */
void
jsonpatch_remove(struct jsonpatch *p, ...)
{
	va_list ap;

	va_start(ap, p);
	jsonpatch_opv(p, "remove", NULL, ap);
	va_end(ap);
}

/* Number of operations. */
size_t
jsonpatch_len(const struct jsonpatch *p)
{
	return json_array_size(p->ops);
}

/* The operation array, owned by p. */
json_t *
jsonpatch_json(const struct jsonpatch *p)
{
	return p->ops;
}

/* Compact JSON text; caller frees. */
char *
jsonpatch_dump(const struct jsonpatch *p)
{
	char *s = json_dumps(p->ops, JSON_COMPACT);

	if (s == NULL)
		abort();
	return s;
}
