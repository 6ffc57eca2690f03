/* test_webhook_apply: an RFC 6902 JSON Patch applier for tests. */
#include "config.h"

#include <ctype.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "test_webhook_apply.h"
#include "xalloc.h"

/* Most segments in a pointer. */
#define MAX_SEGS 64

/* Split an RFC 6901 pointer into unescaped segments. Returns the count or -1. */
static int
split_pointer(const char *ptr, char **segs)
{
	int n = 0;

	if (*ptr == '\0')
		return 0;
	if (*ptr != '/')
		return -1;
	while (*ptr == '/') {
		const char *end = strchr(ptr + 1, '/');
		size_t len = end != NULL ? (size_t)(end - ptr - 1) : strlen(ptr + 1);
		char *s = xmalloc(len + 1), *w = s;

		if (n == MAX_SEGS) {
			free(s);
			goto fail;
		}
		for (size_t i = 0; i < len; i++) {
			char c = ptr[1 + i];

			if (c == '~') {
				if (i + 1 >= len || (ptr[2 + i] != '0' && ptr[2 + i] != '1')) {
					free(s);
					goto fail;
				}
				*w++ = ptr[2 + i] == '0' ? '~' : '/';
				i++;
			} else
				*w++ = c;
		}
		*w = '\0';
		segs[n++] = s;
		ptr += 1 + len;
	}
	return n;
fail:
	while (n > 0)
		free(segs[--n]);
	return -1;
}

/* Parse an array index: digits without leading zeros. */
static bool
array_index(const char *s, size_t *out)
{
	size_t v = 0;

	if (*s == '\0' || (s[0] == '0' && s[1] != '\0'))
		return false;
	for (; *s != '\0'; s++) {
		if (!isdigit((unsigned char)*s) || v > 100000000)
			return false;
		v = v * 10 + (size_t)(*s - '0');
	}
	*out = v;
	return true;
}

/* The value at segs[0..n) under doc, or NULL. */
static json_t *
walk(json_t *doc, char **segs, int n)
{
	for (int i = 0; i < n && doc != NULL; i++) {
		size_t k;

		if (json_is_object(doc))
			doc = json_object_get(doc, segs[i]);
		else if (json_is_array(doc) && array_index(segs[i], &k))
			doc = json_array_get(doc, k);
		else
			doc = NULL;
	}
	return doc;
}

/* Apply one operation. */
static int
apply_one(json_t *doc, const json_t *op, char **cause)
{
	const char *name = json_string_value(json_object_get(op, "op"));
	const char *path = json_string_value(json_object_get(op, "path"));
	json_t *value = json_object_get(op, "value"), *parent, *cur;
	char *segs[MAX_SEGS];
	int n, r = -1;
	const char *last;
	size_t k;

	if (name == NULL || path == NULL) {
		*cause = xstrdup("operation without op or path");
		return -1;
	}
	if ((n = split_pointer(path, segs)) <= 0) {
		*cause = xasprintf("%s %s: bad or root pointer", name, path);
		return -1;
	}
	parent = walk(doc, segs, n - 1);
	last = segs[n - 1];
	if (parent == NULL || (!json_is_object(parent) && !json_is_array(parent))) {
		*cause = xasprintf("%s %s: the parent does not exist", name, path);
		goto done;
	}
	cur = walk(parent, (char **)&last, 1);
	if (strcmp(name, "add") == 0) {
		if (value == NULL)
			goto novalue;
		if (json_is_object(parent))
			json_object_set(parent, last, value);
		else if (strcmp(last, "-") == 0)
			json_array_append(parent, value);
		else if (array_index(last, &k) && k <= json_array_size(parent))
			json_array_insert(parent, k, value);
		else
			goto badindex;
	} else if (strcmp(name, "remove") == 0 || strcmp(name, "replace") == 0) {
		if (cur == NULL) {
			*cause = xasprintf("%s %s: nothing there", name, path);
			goto done;
		}
		if (name[0] == 'r' && name[2] == 'p') {
			if (value == NULL)
				goto novalue;
			if (json_is_object(parent))
				json_object_set(parent, last, value);
			else {
				array_index(last, &k);
				json_array_set(parent, k, value);
			}
		} else if (json_is_object(parent))
			json_object_del(parent, last);
		else {
			array_index(last, &k);
			json_array_remove(parent, k);
		}
	} else if (strcmp(name, "test") == 0) {
		if (value == NULL)
			goto novalue;
		if (cur == NULL || !json_equal(cur, value)) {
			*cause = xasprintf("test %s: the value differs", path);
			goto done;
		}
	} else {
		*cause = xasprintf("op %s is not supported", name);
		goto done;
	}
	r = 0;
	goto done;
novalue:
	*cause = xasprintf("%s %s: no value", name, path);
	goto done;
badindex:
	*cause = xasprintf("%s %s: bad array index", name, path);
done:
	while (n > 0)
		free(segs[--n]);
	return r;
}

/* Apply a patch. */
int
apply_patch(json_t *doc, const json_t *patch, char **cause)
{
	const json_t *op;
	size_t i;

	if (!json_is_array(patch)) {
		*cause = xstrdup("the patch is not an array");
		return -1;
	}
	json_array_foreach(patch, i, op) {
		char *inner = NULL;

		if (apply_one(doc, op, &inner) != 0) {
			*cause = xasprintf("operation %zu: %s", i, inner);
			free(inner);
			return -1;
		}
	}
	return 0;
}
