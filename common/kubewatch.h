/* kubewatch: LIST then WATCH a collection, resuming and re-listing as needed. */
#ifndef TWA_KUBEWATCH_H
#define TWA_KUBEWATCH_H

#include <jansson.h>

#include "kube.h"

/* What a watch callback is told. */
enum kubewatch_what {
	KUBEWATCH_SYNC,	/* obj: the full List; forget earlier state */
	KUBEWATCH_ADDED,
	KUBEWATCH_MODIFIED,
	KUBEWATCH_DELETED,
	KUBEWATCH_BOOKMARK,	/* obj: the bookmark; resume point moved */
	KUBEWATCH_FAILED,	/* err set; the watch retries by itself */
};

/*
 * Watch callback: obj borrowed (NULL for KUBEWATCH_FAILED). The watch may
 * be stopped from inside it.
 */
typedef void (*kubewatch_cb)(enum kubewatch_what what, json_t *obj,
    const struct kube_error *err, void *arg);

struct kubewatch;

/*
 * Watch a collection path (query NULL or e.g.
 * "fieldSelector=metadata.name%3Dx"): LIST first (KUBEWATCH_SYNC), then
 * stream changes from the list's resourceVersion with bookmarks, resuming
 * from the last resourceVersion seen after a cut or a server timeout, and
 * re-listing after 410 Gone (HTTP status or ERROR event). Errors are
 * reported as KUBEWATCH_FAILED and retried with backoff. timeout_s is the
 * server-side timeoutSeconds of each stream (0: 300). Caller stops it with
 * kubewatch_stop. Never NULL.
 */
struct kubewatch *kubewatch_start(struct kube *k, const char *path,
    const char *query, unsigned timeout_s, kubewatch_cb cb, void *arg);
/* Stop and free a watch; safe from inside its callback. */
void kubewatch_stop(struct kubewatch *w);
/* Resource version the watch resumes from (owned by w, may be NULL). */
const char *kubewatch_rv(const struct kubewatch *w);
/* Number of LISTs the watch made (1 + re-lists after 410). */
unsigned kubewatch_lists(const struct kubewatch *w);

#endif
