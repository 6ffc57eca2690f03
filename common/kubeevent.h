/* kubeevent: events.k8s.io/v1 Events for the actions twa takes. */
#ifndef TWA_KUBEEVENT_H
#define TWA_KUBEEVENT_H

#include <stdint.h>

#include <jansson.h>

#include "kube.h"

/* An object reference for Events (plain data). */
struct kube_objref {
	const char	*api_version;	/* "apps/v1" */
	const char	*kind;		/* "Deployment" */
	const char	*name;
	const char	*namespace;
	const char	*uid;		/* may be NULL */
};

/* One events.k8s.io/v1 Event to create (plain data). */
struct kube_event {
	struct kube_objref	 regarding;
	const char		*type;		/* "Normal" or "Warning" */
	const char		*reason;	/* CamelCase, <= 128 */
	const char		*action;	/* <= 128 */
	const char		*note;		/* may be NULL; cut at 1024 */
	const char		*instance;	/* reportingInstance: pod name */
};

/* The reportingController of every Event twa writes. */
#define KUBE_EVENT_CONTROLLER "twa.dev/agent"

/*
 * The Event object for ev at now_us (microseconds since the epoch): name
 * "<regarding name>.<hex ns>", eventTime with six digits. Pure; returns
 * NULL and an allocated cause for a missing required field. Caller
 * decrefs.
 */
json_t *kube_event_build(const struct kube_event *ev, int64_t now_us,
    char **cause);
/*
 * POST the Event for ev now (retried as idempotent). Returns the request,
 * or NULL and an allocated cause when ev lacks a required field.
 */
struct kube_req *kube_event_create(struct kube *k, const struct kube_event *ev,
    kube_done_cb cb, void *arg, char **cause);

#endif
