/* xalloc: allocation that aborts on exhaustion. */
#include "config.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "xalloc.h"

/* Report exhaustion and abort; never returns. */
static _Noreturn void
xalloc_fail(const char *what, size_t n)
{
	fprintf(stderr, "level=fatal msg=\"out of memory\" call=%s bytes=%zu\n",
	    what, n);
	abort();
}

/* Allocate n bytes (at least one). Caller frees. */
void *
xmalloc(size_t n)
{
	void *p = malloc(n == 0 ? 1 : n);

	if (p == NULL)
		xalloc_fail("xmalloc", n);
	return p;
}

/* Allocate a zeroed array. Caller frees. */
void *
xcalloc(size_t nmemb, size_t size)
{
	void *p;

	if (nmemb == 0 || size == 0)
		nmemb = size = 1;
	p = calloc(nmemb, size);
	if (p == NULL)
		xalloc_fail("xcalloc", size);
	return p;
}

/* Resize a block. Caller frees the result. */
void *
xrealloc(void *p, size_t n)
{
	void *q = realloc(p, n == 0 ? 1 : n);

	if (q == NULL)
		xalloc_fail("xrealloc", n);
	return q;
}

/* Resize a block to an array, refusing multiplication overflow. Caller frees. */
void *
xreallocarray(void *p, size_t nmemb, size_t size)
{
	if (size != 0 && nmemb > SIZE_MAX / size)
		xalloc_fail("xreallocarray", SIZE_MAX);
	return xrealloc(p, nmemb * size);
}

/* Duplicate a string. Caller frees. */
char *
xstrdup(const char *s)
{
	return xstrndup(s, strlen(s));
}

/* Duplicate at most n bytes. Caller frees. */
char *
xstrndup(const char *s, size_t n)
{
	size_t len = strnlen(s, n);
	char *p = xmalloc(len + 1);

	memcpy(p, s, len);
	p[len] = '\0';
	return p;
}

/* Format a va_list into a new string. Caller frees. */
char *
xvasprintf(const char *fmt, va_list ap)
{
	char *s;

	if (vasprintf(&s, fmt, ap) < 0)
		xalloc_fail("xvasprintf", 0);
	return s;
}

/* Format into a new string. Caller frees. */
char *
xasprintf(const char *fmt, ...)
{
	va_list ap;
	char *s;

	va_start(ap, fmt);
	s = xvasprintf(fmt, ap);
	va_end(ap);
	return s;
}
