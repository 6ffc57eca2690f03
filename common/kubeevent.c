/* kubeevent: events.k8s.io/v1 Events for the actions twa takes. */
#include "config.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "kube.h"
#include "kubeevent.h"
#include "timefmt.h"
#include "xalloc.h"

/* Cut s to at most max bytes without splitting a UTF-8 sequence; caller frees. */
static char *
kube_cut_utf8(const char *s, size_t max)
{
	size_t n = strlen(s);

	if (n <= max)
		return xstrdup(s);
	n = max;
	while (n > 0 && ((unsigned char)s[n] & 0xc0) == 0x80)
		n--;
	return xstrndup(s, n);
}

/* Build an events.k8s.io/v1 Event; caller decrefs. */
json_t *
kube_event_build(const struct kube_event *ev, int64_t now_us, char **cause)
{
	const struct kube_objref *o = &ev->regarding;
	char when[TIMEFMT_MICRO_LEN], *name, *note;
	const char *ns = o->namespace != NULL ? o->namespace : "default";
	json_t *e, *reg;

	if (o->api_version == NULL || o->kind == NULL || o->name == NULL ||
	    *o->name == '\0') {
		*cause = xstrdup("event: regarding needs apiVersion, kind and name");
		return NULL;
	}
	if (ev->reason == NULL || *ev->reason == '\0' || strlen(ev->reason) > 128 ||
	    ev->action == NULL || *ev->action == '\0' || strlen(ev->action) > 128) {
		*cause = xstrdup("event: reason and action must be 1-128 characters");
		return NULL;
	}
	if (ev->type == NULL || (strcmp(ev->type, "Normal") != 0 &&
	    strcmp(ev->type, "Warning") != 0)) {
		*cause = xasprintf("event: type \"%.32s\" must be Normal or "
		    "Warning", ev->type == NULL ? "" : ev->type);
		return NULL;
	}
	if (ev->instance == NULL || *ev->instance == '\0' ||
	    strlen(ev->instance) > 128) {
		*cause = xstrdup("event: reportingInstance must be 1-128 characters");
		return NULL;
	}
	timefmt_micro(now_us, when);
	name = xasprintf("%.200s.%llx", o->name,
	    (unsigned long long)now_us * 1000ull);
	reg = json_pack("{s:s, s:s, s:s, s:s}", "apiVersion", o->api_version,
	    "kind", o->kind, "name", o->name, "namespace", ns);
	if (o->uid != NULL)
		json_object_set_new(reg, "uid", json_string(o->uid));
	e = json_pack("{s:s, s:s, s:{s:s, s:s}, s:s, s:s, s:s, s:s, s:s, s:s, s:o}",
	    "apiVersion", "events.k8s.io/v1", "kind", "Event",
	    "metadata", "name", name, "namespace", ns,
	    "eventTime", when,
	    "reportingController", KUBE_EVENT_CONTROLLER,
	    "reportingInstance", ev->instance,
	    "action", ev->action, "reason", ev->reason, "type", ev->type,
	    "regarding", reg);
	free(name);
	if (e == NULL)
		abort();
	if (ev->note != NULL) {
		note = kube_cut_utf8(ev->note, 1024);
		json_object_set_new(e, "note", json_string(note));
		free(note);
	}
	return e;
}

/* POST an Event now. */
struct kube_req *
kube_event_create(struct kube *k, const struct kube_event *ev,
    kube_done_cb cb, void *arg, char **cause)
{
	char *path;
	json_t *e = kube_event_build(ev, timefmt_now_us(), cause);
	struct kube_req *r;
	struct kube_opts o = { .retry = KUBE_RETRY_IDEMPOTENT };

	if (e == NULL)
		return NULL;
	path = xasprintf("/apis/events.k8s.io/v1/namespaces/%s/events",
	    json_string_value(json_object_get(json_object_get(e, "metadata"),
	    "namespace")));
	r = kube_create(k, path, e, &o, cb, arg);
	free(path);
	json_decref(e);
	return r;
}

