/* downward: parse the downward-API labels/annotations file format. */
#include "config.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "downward.h"
#include "parse.h"
#include "xalloc.h"

/* A growing byte buffer for one decoded value. */
struct dw_buf {
	char	*p;
	size_t	 len, cap;
};

/* Append n bytes to b. */
static void
dw_put(struct dw_buf *b, const void *s, size_t n)
{
	if (b->len + n + 1 > b->cap) {
		size_t cap = b->cap == 0 ? 64 : b->cap;

		while (cap < b->len + n + 1)
			cap *= 2;
		b->p = xrealloc(b->p, cap);
		b->cap = cap;
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
}

/* Length of the valid UTF-8 sequence at s (at most n bytes), or 0. */
static size_t
dw_utf8_len(const unsigned char *s, size_t n)
{
	uint32_t cp;
	size_t len;

	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf) {
		len = 2;
		cp = s[0] & 0x1f;
	} else if (s[0] >= 0xe0 && s[0] <= 0xef) {
		len = 3;
		cp = s[0] & 0x0f;
	} else if (s[0] >= 0xf0 && s[0] <= 0xf4) {
		len = 4;
		cp = s[0] & 0x07;
	} else
		return 0;
	if (len > n)
		return 0;
	for (size_t i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (s[i] & 0x3f);
	}
	/* overlong forms, surrogates and values past U+10FFFF */
	if ((len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) ||
	    (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff)
		return 0;
	return len;
}

/* Append code point cp as UTF-8. */
static void
dw_put_rune(struct dw_buf *b, uint32_t cp)
{
	unsigned char u[4];
	size_t n;

	if (cp < 0x80) {
		u[0] = (unsigned char)cp;
		n = 1;
	} else if (cp < 0x800) {
		u[0] = (unsigned char)(0xc0 | (cp >> 6));
		u[1] = (unsigned char)(0x80 | (cp & 0x3f));
		n = 2;
	} else if (cp < 0x10000) {
		u[0] = (unsigned char)(0xe0 | (cp >> 12));
		u[1] = (unsigned char)(0x80 | ((cp >> 6) & 0x3f));
		u[2] = (unsigned char)(0x80 | (cp & 0x3f));
		n = 3;
	} else {
		u[0] = (unsigned char)(0xf0 | (cp >> 18));
		u[1] = (unsigned char)(0x80 | ((cp >> 12) & 0x3f));
		u[2] = (unsigned char)(0x80 | ((cp >> 6) & 0x3f));
		u[3] = (unsigned char)(0x80 | (cp & 0x3f));
		n = 4;
	}
	dw_put(b, u, n);
}

/* Value of hex digit c, or -1. */
static int
dw_hex(unsigned char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Decode one escape at s[i] (just past the backslash); advance *ip. */
static int
dw_escape(const unsigned char *s, size_t end, size_t *ip, struct dw_buf *b,
    char **cause)
{
	size_t i = *ip, ndig;
	uint32_t v = 0;
	unsigned char c, out;

	if (i >= end) {
		*cause = xstrdup("backslash at the end of the value");
		return -1;
	}
	c = s[i++];
	switch (c) {
	case 'a': out = '\a'; break;
	case 'b': out = '\b'; break;
	case 'f': out = '\f'; break;
	case 'n': out = '\n'; break;
	case 'r': out = '\r'; break;
	case 't': out = '\t'; break;
	case 'v': out = '\v'; break;
	case '\\': out = '\\'; break;
	case '"': out = '"'; break;
	case 'x':
	case 'u':
	case 'U':
		ndig = c == 'x' ? 2 : c == 'u' ? 4 : 8;
		if (end - i < ndig) {
			*cause = xasprintf("escape \\%c needs %zu hex digits", c,
			    ndig);
			return -1;
		}
		for (size_t k = 0; k < ndig; k++) {
			int h = dw_hex(s[i + k]);

			if (h < 0) {
				*cause = xasprintf("escape \\%c needs %zu hex "
				    "digits", c, ndig);
				return -1;
			}
			v = (v << 4) | (uint32_t)h;
		}
		i += ndig;
		if (c == 'x') {
			if (v == 0)
				goto nul;
			out = (unsigned char)v;
			break;
		}
		if (v > 0x10ffff || (v >= 0xd800 && v <= 0xdfff)) {
			*cause = xasprintf("escape \\%c%0*X is not a Unicode "
			    "scalar value", c, (int)ndig, (unsigned)v);
			return -1;
		}
		if (v == 0)
			goto nul;
		dw_put_rune(b, v);
		*ip = i;
		return 0;
	case '0': case '1': case '2': case '3':
	case '4': case '5': case '6': case '7':
		v = c - '0';
		for (size_t k = 0; k < 2; k++) {
			if (i >= end || s[i] < '0' || s[i] > '7') {
				*cause = xstrdup("octal escape needs three "
				    "digits");
				return -1;
			}
			v = v * 8 + (uint32_t)(s[i++] - '0');
		}
		if (v > 255) {
			*cause = xasprintf("octal escape \\%03o is above \\377",
			    (unsigned)v);
			return -1;
		}
		if (v == 0)
			goto nul;
		out = (unsigned char)v;
		break;
	default:
		if (c >= 0x20 && c < 0x7f)
			*cause = xasprintf("unknown escape \\%c", c);
		else
			*cause = xasprintf("unknown escape \\ followed by byte "
			    "0x%02X", c);
		return -1;
	}
	dw_put(b, &out, 1);
	*ip = i;
	return 0;
nul:
	*cause = xstrdup("escape decodes to a NUL byte, which is not "
	    "supported");
	return -1;
}

/* Decode a Go double-quoted string literal. */
char *
downward_unquote(const char *str, size_t len, char **cause)
{
	const unsigned char *s = (const unsigned char *)str;
	struct dw_buf b = { NULL, 0, 0 };
	size_t i, end, n;

	if (len < 2 || s[0] != '"') {
		*cause = xstrdup("value does not start with '\"'");
		return NULL;
	}
	end = len - 1;
	if (s[end] != '"') {
		*cause = xstrdup("unterminated quoted value");
		return NULL;
	}
	dw_put(&b, "", 0);
	for (i = 1; i < end;) {
		if (s[i] == '\\') {
			i++;
			if (dw_escape(s, end, &i, &b, cause) != 0)
				goto fail;
			continue;
		}
		if (s[i] == '"') {
			*cause = xasprintf("unescaped '\"' at byte %zu of the "
			    "value", i);
			goto fail;
		}
		if (s[i] == '\n' || s[i] == '\0') {
			*cause = xasprintf("raw %s byte in the value",
			    s[i] == '\n' ? "newline" : "NUL");
			goto fail;
		}
		n = dw_utf8_len(s + i, end - i);
		if (n == 0) {
			*cause = xasprintf("invalid UTF-8 at byte %zu of the "
			    "value", i);
			goto fail;
		}
		dw_put(&b, s + i, n);
		i += n;
	}
	return b.p;
fail:
	free(b.p);
	return NULL;
}

/* Whether k[0..n) is a label/annotation key: [prefix/]name of [A-Za-z0-9._-]. */
static bool
dw_key_valid(const char *k, size_t n, const char **why)
{
	size_t slashes = 0;

	if (n == 0) {
		*why = "empty key";
		return false;
	}
	if (n > DOWNWARD_MAX_KEY) {
		*why = "key longer than 317 bytes";
		return false;
	}
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)k[i];

		if (c == '/') {
			if (++slashes > 1 || i == 0 || i + 1 == n) {
				*why = "key is not [prefix/]name";
				return false;
			}
			continue;
		}
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9') || c == '.' || c == '-' ||
		    c == '_')) {
			*why = "key has a character outside [A-Za-z0-9._/-]";
			return false;
		}
	}
	return true;
}

/* Free the pairs. */
void
downward_clear(struct downward *d)
{
	for (size_t i = 0; i < d->n; i++) {
		free(d->v[i].key);
		free(d->v[i].value);
	}
	free(d->v);
	d->v = NULL;
	d->n = 0;
}

/* Look up a key. */
const char *
downward_get(const struct downward *d, const char *key)
{
	for (size_t i = 0; i < d->n; i++)
		if (strcmp(d->v[i].key, key) == 0)
			return d->v[i].value;
	return NULL;
}

/* Parse one line s[0..n) (number lineno) and append it to out. */
static int
dw_line(const char *s, size_t n, size_t lineno, struct downward *out,
    char **cause)
{
	const char *eq, *v, *why = NULL;
	char *key = NULL, *value, *vcause = NULL, *q;
	size_t klen, vn, endq;

	if (n == 0) {
		*cause = xasprintf("line %zu: empty line", lineno);
		return -1;
	}
	eq = memchr(s, '=', n);
	if (eq == NULL) {
		*cause = xasprintf("line %zu: expected key=\"value\", found "
		    "no '='", lineno);
		return -1;
	}
	klen = (size_t)(eq - s);
	if (!dw_key_valid(s, klen, &why)) {
		char *k = xstrndup(s, klen > 80 ? 80 : klen);

		q = parse_quote(k);
		*cause = xasprintf("line %zu: %s: %s", lineno, why, q);
		free(q);
		free(k);
		return -1;
	}
	key = xstrndup(s, klen);
	for (size_t i = 0; i < out->n; i++) {
		if (strcmp(out->v[i].key, key) == 0) {
			*cause = xasprintf("line %zu: duplicate key \"%s\" "
			    "(first on line %zu)", lineno, key,
			    out->v[i].line);
			free(key);
			return -1;
		}
	}
	v = eq + 1;
	vn = n - klen - 1;
	if (vn == 0 || v[0] != '"') {
		*cause = xasprintf("line %zu: key \"%s\": the value does not "
		    "start with '\"'", lineno, key);
		free(key);
		return -1;
	}
	/* the closing quote: the first one not escaped by a backslash */
	for (endq = 1; endq < vn && v[endq] != '"'; endq++)
		if (v[endq] == '\\')
			endq++;
	if (endq >= vn) {
		*cause = xasprintf("line %zu: key \"%s\": unterminated quoted "
		    "value", lineno, key);
		free(key);
		return -1;
	}
	if (endq + 1 != vn) {
		*cause = xasprintf("line %zu: key \"%s\": text after the "
		    "closing quote", lineno, key);
		free(key);
		return -1;
	}
	value = downward_unquote(v, vn, &vcause);
	if (value == NULL) {
		*cause = xasprintf("line %zu: key \"%s\": %s", lineno, key,
		    vcause);
		free(vcause);
		free(key);
		return -1;
	}
	out->v = xreallocarray(out->v, out->n + 1, sizeof *out->v);
	out->v[out->n].key = key;
	out->v[out->n].value = value;
	out->v[out->n].line = lineno;
	out->n++;
	return 0;
}

/* Parse a whole file. */
int
downward_parse(const char *buf, size_t len, struct downward *out,
    char **cause)
{
	size_t pos = 0, lineno = 0;
	char *lcause = NULL;

	out->v = NULL;
	out->n = 0;
	if (len > DOWNWARD_MAX_BYTES) {
		*cause = xasprintf("downward-API file is %zu bytes, more than "
		    "the %u accepted", len, DOWNWARD_MAX_BYTES);
		return -1;
	}
	while (pos < len) {
		const char *nl = memchr(buf + pos, '\n', len - pos);
		size_t n = nl != NULL ? (size_t)(nl - (buf + pos)) : len - pos;
		const char *nul = memchr(buf + pos, '\0', n);

		lineno++;
		if (nul != NULL) {
			lcause = xasprintf("line %zu: NUL byte", lineno);
			goto fail;
		}
		if (dw_line(buf + pos, n, lineno, out, &lcause) != 0)
			goto fail;
		pos += n;
		if (nl != NULL)
			pos++;	/* a final newline ends the file */
	}
	return 0;
fail:
	*cause = xasprintf("downward-API file: %s", lcause);
	free(lcause);
	downward_clear(out);
	return -1;
}
