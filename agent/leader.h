/*
 * leader: what the elected agent does for the whole worker deployment:
 * observe (Deployments by label, the Lease health board, Temporal) -> plan
 * (planner_plan) -> act, event-driven. Only the leader opens a Temporal
 * connection: leader_start opens it, leader_stop closes it.
 *
 * The agent process (agent.c) owns the event loop, the Kubernetes client,
 * the elector and the health board; it creates one struct leader at
 * start-up, calls leader_start when the elector says leading began and
 * leader_stop when it ended (before anything else happens), and feeds
 * every Lease object it sees to leader_observe_lease.
 *
 * The leader publishes its summary itself: a JSON merge patch of the one
 * annotation twa.dev/status on the Lease, on change (debounced to one write
 * a second) and at least every report interval. The summary names a small
 * standby set ("standbys": [pod names], two ready agents other than the
 * leader): the agent process reads it from every Lease object it sees and
 * makes its elector poll (lease_set_poll) only when it is named there.
 * When the agent process writes the status through its health board
 * instead (board_set_status adds "leader" and "standbys" itself), it sets
 * a status callback with leader_set_status_cb and the leader writes
 * nothing.
 */
#ifndef TWA_LEADER_H
#define TWA_LEADER_H

#include <stdbool.h>
#include <stdint.h>

#include <jansson.h>

#include "kube.h"
#include "lease.h"
#include "settings.h"

struct event_base;
struct leader;

/* Fixed configuration of the leader (strings copied by leader_new). */
struct leader_config {
	const char		*k8s_namespace;	/* the workers' namespace */
	const char		*deployment;	/* twa.dev/deployment label value */
	const char		*pod;		/* this pod, for logs and Events */
	const char		*lease_name;	/* "twa-<deployment>" */
	/* Temporal connection; address NULL: from the target's annotations. */
	const char		*temporal_address;
	const char		*temporal_ca_file;	/* NULL: system roots */
	const char		*temporal_cert_file;	/* mTLS, NULL: none */
	const char		*temporal_key_file;
	const char		*temporal_api_key_file;	/* NULL: none */
	bool			 temporal_tls;
	/* Settings of this pod (the defaults when no Deployment has any). */
	const struct settings	*settings;
	int64_t			 resync_ms;	/* 30000 */
};

/*
 * A leader on base using client k and elector l (both outlive it). Does
 * nothing until leader_start. Returns NULL and an allocated cause on bad
 * configuration. Free with leader_free.
 */
struct leader *leader_new(struct event_base *base, struct kube *k,
    struct lease *l, const struct leader_config *cfg, char **cause);
/* Leadership began: open Temporal, start the Deployment watch, plan. */
void leader_start(struct leader *ld);
/*
 * Leadership ended (or is ending): stop at once, issue nothing more,
 * cancel in-flight calls, close the Temporal connection.
 */
void leader_stop(struct leader *ld);
/* Whether leader_start was called without leader_stop since. */
bool leader_active(const struct leader *ld);
/* A Lease object (health board and status); borrowed. Cheap; may re-plan. */
void leader_observe_lease(struct leader *ld, json_t *lease_obj);
/* This pod's settings changed (live annotation reload); copied. */
void leader_set_settings(struct leader *ld, const struct settings *s);
/*
 * The leader's summary for twa.dev/status and /status: the planner status
 * plus last action, last error and next wake-up. NULL when not leading.
 * Caller decrefs.
 */
json_t *leader_status(const struct leader *ld);
/*
 * Status callback: the summary changed (status borrowed; copy to keep).
 * Called on every change while leading, never from inside a leader_*
 * call.
 */
typedef void (*leader_status_cb)(json_t *status, void *arg);
/*
 * Hand every changed summary to cb instead of writing twa.dev/status
 * (cb NULL: the leader writes it itself, the default).
 */
void leader_set_status_cb(struct leader *ld, leader_status_cb cb, void *arg);
/* Append Prometheus text metrics of the leader to buf (open_memstream). */
void leader_metrics(const struct leader *ld, FILE *out);
/* Stop if active and free; NULL is a no-op. */
void leader_free(struct leader *ld);

#endif
