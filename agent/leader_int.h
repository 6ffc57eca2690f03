/*
 * leader_int: what leader.c, observe.c and act.c share. Not for other
 * modules: the interface of the leader is leader.h.
 *
 * leader.c owns the lifecycle, the triggers (Lease, Deployment watch,
 * timers, resync), the pass sequence, the status annotation and metrics;
 * observe.c owns the Deployment cache, the health board parsing and the
 * Temporal reads of one pass; act.c executes the planner's actions and
 * records Events.
 */
#ifndef TWA_LEADER_INT_H
#define TWA_LEADER_INT_H

#include <stdbool.h>
#include <stdint.h>

#include <event2/event.h>
#include <jansson.h>

#include "kube.h"
#include "kubewatch.h"
#include "lease.h"
#include "leader.h"
#include "planner.h"
#include "settings.h"
#include "temporal.h"

/* Longest kept event dedup key list. */
#define LD_EVENT_KEYS_MAX	512
/* Most health entries read from one Lease. */
#define LD_HEALTH_MAX		4096
/* Most Deployments kept for one worker deployment. */
#define LD_DEPLOYMENTS_MAX	512

/* One Deployment carrying the label, as the watch last reported it. */
struct ld_dep {
	char			*name;
	char			*uid;
	char			*rv;
	char			*build_id;	/* NULL: could not be computed */
	struct settings		 settings;	/* last good parse */
	int64_t			 created_at;
	int64_t			 available_since;
	bool			 deleting;
	bool			 template_changed;
	int32_t			 replicas;
	int32_t			 ready;
	bool			 seen;		/* mark for a re-list */
};

/* One agent's health entry from the Lease. */
struct ld_health {
	char			*pod;
	char			*build;
	char			*reason;
	enum planner_pod_state	 state;
	int64_t			 changed_at;
	int64_t			 written_at;
};

/* One task queue of a version observed in a pass. */
struct ld_tq {
	char			*name;
	int			 type;		/* enum temporal_task_queue_type */
	bool			 has_pollers;
	enum planner_gate_state	 gate;
	int64_t			 gate_started_at;
};

/* A version whose task queues (and gates) a pass reads. */
struct ld_pv {
	char			*build;
	bool			 gate;		/* describe its gate workflows */
	bool			 known;		/* DescribeWorkerDeploymentVersion answered */
	struct ld_tq		*tqs;
	size_t			 ntqs;
};

/* One observe -> plan -> act pass. */
struct ld_pass {
	struct leader		*ld;
	bool			 dead;		/* leadership ended: finish quietly */
	unsigned		 pending;	/* calls whose callback has not run */
	bool			 failed;
	char			*error;		/* first failure of this pass */
	bool			 conflict;	/* the failure was a conflict */
	int64_t			 started_ms;	/* monotonic */

	/* observe */
	bool			 t_observed;
	struct temporal_deployment *td;	/* NULL: NOT_FOUND or failed */
	struct ld_pv		*pv;
	size_t			 npv;

	/* plan and act */
	bool			 planned;
	struct planner_result	 res;
	size_t			 next;		/* next action to execute */
	unsigned		 acted;		/* actions that changed something */
	struct kube_req		*kreq;		/* kube action in flight */
};

/* One Event being created. */
struct ld_evreq {
	struct leader		*ld;
	struct kube_req		*req;
	struct ld_evreq		*next;
};

/* Counters for /metrics. */
struct ld_stats {
	uint64_t		 passes_ok;
	uint64_t		 passes_failed;
	uint64_t		 passes_conflict;
	uint64_t		 actions_ok[PLANNER_EVENT + 1];
	uint64_t		 actions_failed[PLANNER_EVENT + 1];
	uint64_t		 events_created;
	uint64_t		 events_deduplicated;
	uint64_t		 events_failed;
	uint64_t		 temporal_errors[17];	/* by gRPC code */
	uint64_t		 kube_errors_http[6];	/* by status class 0..5 */
	uint64_t		 kube_errors_other;
	uint64_t		 status_writes;
	int64_t			 last_pass_ms;		/* duration */
};

struct leader {
	struct event_base	*base;
	struct kube		*kube;
	struct lease		*lease;
	char			*ns;
	char			*label;
	char			*pod;
	char			*lease_name;
	char			*tdeployment;	/* "<ns>/<label>" */
	char			*identity;	/* "twa:<ns>/<label>" */
	char			*t_address;	/* overrides from the config */
	char			*t_ca_file, *t_cert_file, *t_key_file;
	char			*t_api_key_file;
	bool			 t_tls;
	struct settings		 settings;	/* this pod's */
	int64_t			 resync_ms;

	bool			 active;

	/* Temporal connection (leader only) */
	struct temporal		*temporal;
	char			*conn_address;
	char			*conn_namespace;
	char			*conn_server_name;

	/* Deployments */
	struct kubewatch	*dwatch;
	bool			 dsynced;
	struct ld_dep		*deps;
	size_t			 ndeps;

	/* Lease: health board and status */
	struct kubewatch	*lwatch;
	json_t			*lease_obj;
	bool			 lease_seen;	/* a Lease seen since leader_start */
	int64_t			 lease_seen_ms;	/* monotonic, the last one */
	/*
	 * Wall time since which this leader has seen the Lease without a gap
	 * longer than a report interval. Health entries count as written no
	 * earlier than this: a new leader, or one that could not read the
	 * Lease (nor could the agents write it), must not take entries for
	 * dead because the API server was away.
	 */
	int64_t			 view_start;
	struct ld_health	*health;
	size_t			 nhealth;
	char			*health_digest;

	/* passes */
	struct ld_pass		*pass;
	bool			 again;		/* a trigger came during the pass */
	struct event		*pass_timer;
	int64_t			 pass_due_ms;	/* monotonic; 0: none set */
	unsigned		 failures;	/* consecutive failed passes */
	int64_t			 backoff_until_ms;
	unsigned		 busy_passes;	/* consecutive passes that acted */
	int64_t			 wake_at;	/* planner's, wall ms; 0: none */
	uint64_t		 rnd;

	/* status */
	leader_status_cb	 status_cb;
	void			*status_arg;
	json_t			*status;	/* last summary (no writtenAt) */
	char			*status_text;	/* compact form of status */
	char			*published;	/* status_text last written */
	int64_t			 published_ms;	/* monotonic */
	struct kube_req		*status_req;
	bool			 status_dirty;
	struct event		*status_timer;
	char			*standby[2];
	char			*last_action;
	char			*last_action_reason;
	char			*last_action_outcome;
	int64_t			 last_action_at;	/* wall ms */
	char			*last_error;
	int64_t			 last_error_at;
	char			*summary;
	double			 ramp_percent;

	/* Events */
	struct ld_evreq		*evreqs;
	char			*event_keys[LD_EVENT_KEYS_MAX];
	unsigned		 event_counts[LD_EVENT_KEYS_MAX];
	size_t			 nevent_keys;
	size_t			 event_key_next;

	struct ld_stats		 st;
};

/* leader.c */
/* Wall-clock milliseconds since the epoch. */
int64_t	 ld_wall_ms(void);
/* The report interval that applies (the target's, else this pod's). */
int64_t	 ld_report_ms(const struct leader *ld);
/* Ask for a pass as soon as possible (coalesced). */
void	 ld_trigger(struct leader *ld, const char *why);
/* Note an error for the status (copied) and log it. */
void	 ld_set_error(struct leader *ld, const char *what, const char *msg);
/* A pass ended; schedule what follows and free it. */
void	 ld_pass_end(struct ld_pass *p);
/* Count a Temporal error by code. */
void	 ld_count_temporal(struct leader *ld, int code);
/* Count a Kubernetes error. */
void	 ld_count_kube(struct leader *ld, const struct kube_error *err);
/* Note a finished call of pass p; frees p when it is dead and idle. */
bool	 ld_pass_call_done(struct ld_pass *p);

/* observe.c */
/* Apply one Deployment watch event to the cache; true if it changed. */
bool	 observe_deployment_event(struct leader *ld, enum kubewatch_what what,
	    json_t *obj);
/* Our own write to Deployment name succeeded: apply it to the cache. */
void	 observe_deployment_written(struct leader *ld, const char *name,
	    bool deleted, int32_t replicas, json_t *obj);
/* Drop the Deployment cache. */
void	 observe_deployments_clear(struct leader *ld);
/* Re-read the health board from ld->lease_obj; true if it changed. */
bool	 observe_health(struct leader *ld);
/* Drop the health entries. */
void	 observe_health_clear(struct leader *ld);
/* The Deployment the planner will take as target, or NULL. */
const struct ld_dep *observe_target(const struct leader *ld);
/* Open or re-open the Temporal client for the settings that apply. */
int	 observe_connect(struct leader *ld, char **cause);
/* Start the Temporal reads of pass p; calls observe_done(p) at the end. */
void	 observe_start(struct ld_pass *p);
/* Free what observe put in p. */
void	 observe_pass_clear(struct ld_pass *p);
/* Plan pass p from what was observed; returns 0 or -1 and a cause. */
int	 observe_plan(struct ld_pass *p, int64_t now, char **cause);

/* leader.c, called by observe.c when the reads are over. */
void	 ld_observe_done(struct ld_pass *p);

/* act.c */
/* Execute the next action of p, or end the pass. */
void	 act_next(struct ld_pass *p);
/*
 * Record an Event on Deployment (name, uid), or on the Lease when name is
 * NULL (a version without Deployments), unless the same (regarding, type,
 * reason, message) was recorded before (dedup true).
 */
void	 act_event(struct leader *ld, const char *name, const char *uid,
	    enum planner_event_type type, const char *reason,
	    const char *action, const char *message, bool dedup);
/* Cancel every Event being created. */
void	 act_events_cancel(struct leader *ld);
/* Forget the Event dedup keys. */
void	 act_events_clear(struct leader *ld);

#endif
