/* webhook_int: helpers shared by webhook.c and webhook_inject.c (not an interface). */
#ifndef TWA_WEBHOOK_INT_H
#define TWA_WEBHOOK_INT_H

#include <sys/types.h>

#include <jansson.h>

#include "settings.h"

/* String member key of o, or NULL when absent or not a string. */
const char *webhook_jstr(const json_t *o, const char *key);
/*
 * Sub-object key of o into *out (NULL when absent or JSON null). Returns 0,
 * or -1 and an allocated cause "<where><key>: expected an object".
 */
int webhook_jobject(const json_t *o, const char *key, const char *where,
    const json_t **out, char **cause);
/*
 * The pairs of a string map into *kv (caller frees the array; strings stay
 * owned by map). Returns the count, or -1 and an allocated cause.
 */
ssize_t webhook_string_map(const json_t *map, const char *where,
    struct settings_kv **kv, char **cause);
/*
 * Parse the twa annotations of a metadata object into s (always
 * initialised). Returns 0, or -1 and an allocated cause naming each bad one.
 */
int webhook_settings(const json_t *meta, const char *where, struct settings *s,
    char **cause);
/* Append text (taken) to a JSON array of warnings; warnings may be NULL. */
void webhook_warn(json_t *warnings, char *text);

#endif
