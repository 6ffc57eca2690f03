/* xalloc: allocation that aborts on exhaustion. */
#ifndef TWA_XALLOC_H
#define TWA_XALLOC_H

#include <stdarg.h>
#include <stddef.h>

/* Allocate n bytes; never returns NULL. Caller frees. */
void *xmalloc(size_t n);
/* Allocate a zeroed array of nmemb * size bytes, checking for overflow. Caller frees. */
void *xcalloc(size_t nmemb, size_t size);
/* Resize p to n bytes; never returns NULL. Caller frees the result. */
void *xrealloc(void *p, size_t n);
/* Resize p to nmemb * size bytes, checking for overflow. Caller frees. */
void *xreallocarray(void *p, size_t nmemb, size_t size);
/* Duplicate a string. Caller frees. */
char *xstrdup(const char *s);
/* Duplicate at most n bytes of s, NUL-terminated. Caller frees. */
char *xstrndup(const char *s, size_t n);
/* Format into a new string. Caller frees. */
char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Format a va_list into a new string. Caller frees. */
char *xvasprintf(const char *fmt, va_list ap) __attribute__((format(printf, 1, 0)));

#endif
