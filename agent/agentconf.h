/*
 * agentconf: the agent's live configuration from its downward-API files.
 *
 * The annotations file is parsed with downward_parse, then settings_parse
 * with the settings in force as the previous good value: an invalid value
 * keeps the last good one, is logged as an error naming the annotation,
 * the value and what is expected, and is handed once to the warn callback
 * (one Warning Event per distinct bad value of a key, not one per reload).
 * A value that becomes valid again, or any other changed annotation, is
 * logged as applying. The labels file gives twa.dev/deployment.
 *
 * Files are re-read when they change: agentconf_reload compares the
 * file's identity (device, inode, size, modification time) and, when that
 * moved, its content. Kubernetes swaps a ..data symlink atomically, so
 * following the path sees either the old file or the new one whole.
 */
#ifndef TWA_AGENTCONF_H
#define TWA_AGENTCONF_H

#include <stdbool.h>
#include <stdint.h>

#include <jansson.h>

#include "settings.h"

struct agentconf;

/* A new invalid value of key: message names key, value and expectation. */
typedef void (*agentconf_warn_cb)(const char *key, const char *value,
    const char *message, void *arg);

/* What a reload found. */
enum agentconf_change {
	AGENTCONF_SAME = 0,		/* nothing new in force */
	AGENTCONF_SETTINGS = 1,		/* the settings in force changed */
};

/*
 * Configuration read from the two files (paths copied; labels_path may be
 * NULL). Nothing is read until agentconf_reload. Free with agentconf_free.
 */
struct agentconf *agentconf_new(const char *annotations_path,
    const char *labels_path, agentconf_warn_cb warn, void *arg);
/* Free c; NULL is a no-op. */
void agentconf_free(struct agentconf *c);
/*
 * Re-read the files if they changed (force: read them anyway). Returns
 * AGENTCONF_SETTINGS when the settings in force changed, with the
 * previous ones copied into *prev when prev is not NULL (release with
 * settings_clear), else AGENTCONF_SAME. Never fails: problems are logged
 * and kept in agentconf_last_error.
 */
enum agentconf_change agentconf_reload(struct agentconf *c, bool force,
    struct settings *prev);
/* The settings in force (owned by c; valid until the next reload). */
const struct settings *agentconf_settings(const struct agentconf *c);
/* A label's value from the labels file, or NULL (owned by c). */
const char *agentconf_label(const struct agentconf *c, const char *key);
/* Whether the labels file was read successfully at least once. */
bool agentconf_have_labels(const struct agentconf *c);
/* The raw value of an annotation, or NULL (owned by c). */
const char *agentconf_annotation(const struct agentconf *c, const char *key);
/* Keys whose current value is invalid (n of them, owned by c). */
size_t agentconf_invalid(const struct agentconf *c, const char *const **keys);
/* Last problem met (NULL if none; owned by c) and when (µs since the epoch). */
const char *agentconf_last_error(const struct agentconf *c, int64_t *when_us);
/* Reloads that read new content, and new invalid values found. */
uint64_t agentconf_reloads(const struct agentconf *c);
uint64_t agentconf_errors(const struct agentconf *c);
/*
 * The settings as JSON, keyed by annotation name, values written as an
 * operator would write them ("10%/5m,50%/10m"). Pure; caller decrefs.
 */
json_t *agentconf_settings_json(const struct settings *s);

#endif
