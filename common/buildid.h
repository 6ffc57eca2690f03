/* buildid: the build ID of a worker version (DESIGN §3), shared by webhook and leader. */
#ifndef TWA_BUILDID_H
#define TWA_BUILDID_H

#include <stddef.h>

#include <jansson.h>

/* Longest build ID. */
#define BUILDID_MAX 63
/* Annotation that overrides the computed build ID. */
#define BUILDID_ANNOTATION "twa.dev/build-id"

/*
 * Compute the build ID from one container's JSON as the API server sends it
 * (text of len bytes). When override is not NULL (the twa.dev/build-id
 * annotation) it is sanitised and used instead. Returns an allocated string,
 * or NULL and an allocated cause naming the bad input.
 */
char *buildid_compute(const char *container_json, size_t len,
    const char *override, char **cause);
/* Same, from a parsed container object. */
char *buildid_compute_json(const json_t *container, const char *override,
    char **cause);
/*
 * Build ID of a pod or a pod template (any object with "metadata" and
 * "spec"): the override annotation if present, else computed from the
 * worker container (the first of spec.containers not named "twa").
 * Returns an allocated string, or NULL and an allocated cause.
 */
char *buildid_for_pod(const json_t *pod, char **cause);
/*
 * Sanitise s in place: every run of characters outside [A-Za-z0-9._-]
 * becomes one '-', leading and trailing '-', '.', '_' are trimmed, and the
 * result is cut to max characters (then trimmed again).
 */
void buildid_sanitize(char *s, size_t max);

#endif
