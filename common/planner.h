/*
 * planner: every rollout decision of the leader, as one pure function.
 *
 *   planner_plan(observed, config, now) -> result (actions, wake-up, status)
 *
 * No I/O, no clock, no globals. The leader fills a struct planner_observed
 * from Kubernetes (Deployments, the Lease health board) and Temporal
 * (DescribeWorkerDeployment, DescribeWorkerDeploymentVersion, gate workflow
 * descriptions), calls planner_plan, executes the actions in array order
 * and publishes the status. Then it observes again before planning again:
 * the planner never assumes that an action it asked for has happened.
 *
 * Times are int64_t milliseconds since the Unix epoch (UTC); 0 means
 * "not set / not known" everywhere (a protobuf Timestamp that is absent, a
 * Kubernetes condition that is not there).
 *
 * Ownership: everything in struct planner_observed and struct
 * planner_config is borrowed for the duration of the call only; nothing of
 * it is kept. Everything reachable from struct planner_result (actions,
 * strings, token copies, status) is allocated with the x-allocation family
 * and owned by the result; release it with planner_result_free. The
 * planner allocates nothing else and keeps nothing between calls.
 *
 * Which Deployment is the target, which settings apply
 * ----------------------------------------------------
 * The target version is the build ID of the newest candidate Deployment:
 * the one with the latest creation time (ties: the greatest name) among
 * Deployments that are not being deleted and whose spec.replicas > 0. It is
 * deliberately the newest Deployment overall, not "the newest whose build
 * is not current": once a target becomes Current it stays the target, so a
 * demoted older version can never be promoted again by accident. Pointing
 * the target back at an older version (a rollback) therefore means making
 * that version's Deployment the newest candidate again: delete or scale to
 * 0 the newer Deployment, or create a fresh Deployment for the old build.
 *
 * Deployment-wide settings (rollout, ramp steps, gate, min-ready,
 * abort-on-unhealthy, delays, max-versions, report interval) come from the
 * target's newest Deployment; with no target, from the newest Deployment of
 * the Current version; with neither (or a Deployment without parsed
 * settings), from config->defaults.
 *
 * Version states (status summary and every rule)
 * ----------------------------------------------
 * Current / Ramping come from the routing config, never from the summary.
 * Otherwise: no version summary -> NotRegistered; summary status CREATED
 * (no poller yet) and never activated -> NotRegistered; DRAINED (status or
 * drainage) -> Drained; DRAINING (status or drainage) -> Draining; INACTIVE
 * and never activated (no activation, deactivation, current or ramping
 * time) -> Inactive; anything else (the summary still says CURRENT/RAMPING
 * while the routing config moved on, UNSPECIFIED drainage after an
 * activation, UNSPECIFIED status) -> Draining: a version that just left
 * Current may report no drainage for minutes, and its pods must stay.
 *
 * Health
 * ------
 * A version's pods are its health entries (matched by build ID) that are
 * not stale (written within 3 report intervals of now). healthy = entries
 * in state READY; total = max(sum of spec.replicas of its Deployments,
 * non-terminating entries). Required healthy pods: min-ready n% ->
 * ceil(total * n / 100); min-ready count n -> n; never less than 1. A count
 * larger than total blocks with a reason (it is never silently lowered).
 * "Below min-ready since" is the time the deficit began: the d-th most
 * recent state change among not-ready entries (d = required - healthy),
 * pods that never reported counting as changed when the ramp began. "Met
 * since" is symmetric: the (healthy - required + 1)-th most recent change
 * among ready entries. Entries for builds with no Deployment and no version
 * summary are ignored for decisions and counted in the status.
 *
 * Rules, in the order planner_plan applies them to the target T
 * --------------------------------------------------------------
 *  - Temporal not observed: no actions at all (status only).
 *  - T Current: a ramp still set (on another build, or to unversioned) is
 *    stale -> clear it (not under Manual). Nothing else.
 *  - Manual: never touch routing (no claim, no ramp, no gate); sunset still
 *    runs.
 *  - T NotRegistered: wait. T not ramping, task queues known and none has
 *    pollers: wait (a ramping T is judged by its health instead).
 *  - T Ramping and below min-ready: hold the step; with abort-on-unhealthy,
 *    once below min-ready for longer than one report interval, clear the
 *    ramp (Warning RampAborted).
 *  - Below min-ready (T not ramping): wait.
 *  - Rollback: T was Current within the last hour (last_current_time) ->
 *    SetCurrent at once: no gate, no ramp, no recovery wait, no cap.
 *  - Recovery: T was activated and deactivated before (an aborted or
 *    displaced ramp) and gets no traffic now -> it may be promoted again
 *    only after min-ready has been met for one full report interval.
 *  - Gate (T gets no traffic yet): one workflow per workflow task queue of
 *    T, ID planner_gate_id(); start the missing ones; running -> wait (a
 *    run older than gate-timeout counts as timed out); any failed,
 *    terminated, canceled or timed-out run blocks T for good (Warning).
 *  - Max versions: |{Current, Ramping, Draining} + T| > max-versions ->
 *    refuse to promote (Warning TooManyVersions).
 *  - No Current version: SetCurrent T whatever the strategy.
 *  - AllAtOnce: SetCurrent T.
 *  - Progressive: not ramping -> SetRamping(T, step 1). Ramping at p%: step
 *    i is the step whose percentage equals p, started at the server's
 *    ramping_version_percentage_changed_time; due after its duration ->
 *    next step, or SetCurrent after the last. A percentage that matches no
 *    step moves to the first step above it (or SetCurrent when above all).
 *  Every Temporal routing write carries the observed conflict token (none
 *  observed: blocked). A manager identity held by anybody else blocks every
 *  Temporal write (routing, gate starts, version deletes; Warning
 *  ManagerIdentityHeld). An empty manager identity is claimed first, in a
 *  plan of its own; the routing write follows in the next plan. At most one
 *  routing write (claim, SetCurrent, SetRamping) per plan.
 *
 * Sunset (every version except T, Current and Ramping)
 *  - Draining: never scaled, never deleted (Warning DrainingWithoutPods
 *    when all its Deployments sit at 0 replicas).
 *  - Drained since D (drainage last_changed_time, else last_checked_time,
 *    else last_deactivation_time): at D + scaledown-delay scale every
 *    Deployment to 0; at D + max(scaledown-delay, delete-delay) (both
 *    delays count from Drained, as twa.dev/ documents them) delete every
 *    Deployment already at 0 (UID precondition); once none is left,
 *    DeleteWorkerDeploymentVersion (not while a task queue has pollers).
 *  - Never activated (Inactive or NotRegistered) and superseded since S (the
 *    creation of the oldest Deployment of another build that is newer than
 *    it) with no gate workflow running: the same timing from S; a version
 *    Temporal does not know (or knows only as CREATED) is never deleted
 *    on the Temporal side.
 *
 * Warnings without an action: several Deployments for one build ID
 * (DuplicateBuildId, every one of them is acted on), a Deployment whose pod
 * template changed in place while its previous build still has pinned
 * workflows (InPlaceUpdate).
 *
 * Events are level-triggered: an Event action is emitted on every plan in
 * which its condition holds, with a message that only changes when the
 * condition does. The caller records each distinct (regarding, type,
 * reason, message) once and counts repeats. Every other action also names
 * an Event type and reason: the caller records that Event after executing
 * the action (with its outcome), on the Deployment the action regards.
 */
#ifndef TWA_PLANNER_H
#define TWA_PLANNER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "settings.h"

/* Rollback window: a version Current this recently is rolled back to at once. */
#define PLANNER_ROLLBACK_WINDOW_MS	(60 * 60 * 1000)
/* Health entries older than this many report intervals are stale. */
#define PLANNER_STALE_INTERVALS		3
/* Longest gate workflow ID (SQL visibility stores IDs as VARCHAR(255)). */
#define PLANNER_GATE_ID_MAX		255

/* Temporal WorkerDeploymentVersionStatus, same numbers as the API. */
enum planner_version_status {
	PLANNER_VS_UNSPECIFIED = 0,
	PLANNER_VS_INACTIVE = 1,
	PLANNER_VS_CURRENT = 2,
	PLANNER_VS_RAMPING = 3,
	PLANNER_VS_DRAINING = 4,
	PLANNER_VS_DRAINED = 5,
	PLANNER_VS_CREATED = 6,
};

/* Temporal VersionDrainageStatus, same numbers as the API. */
enum planner_drainage {
	PLANNER_DRAINAGE_UNSPECIFIED = 0,
	PLANNER_DRAINAGE_DRAINING = 1,
	PLANNER_DRAINAGE_DRAINED = 2,
};

/* Temporal TaskQueueType, same numbers as the API. */
enum planner_queue_type {
	PLANNER_QUEUE_UNSPECIFIED = 0,
	PLANNER_QUEUE_WORKFLOW = 1,
	PLANNER_QUEUE_ACTIVITY = 2,
	PLANNER_QUEUE_NEXUS = 3,
};

/*
 * The gate workflow on one task queue, as DescribeWorkflowExecution of
 * planner_gate_id() reports it (the latest run; NOT_STARTED on NOT_FOUND).
 * A run still open past gate-timeout counts as TIMED_OUT.
 */
enum planner_gate_state {
	PLANNER_GATE_NOT_STARTED = 0,
	PLANNER_GATE_RUNNING,
	PLANNER_GATE_COMPLETED,
	PLANNER_GATE_FAILED,
	PLANNER_GATE_TIMED_OUT,
	PLANNER_GATE_TERMINATED,
	PLANNER_GATE_CANCELED,
};

/* A pod's state on the health board (DESIGN §5). */
enum planner_pod_state {
	PLANNER_POD_STARTING = 0,
	PLANNER_POD_READY,
	PLANNER_POD_UNHEALTHY,
	PLANNER_POD_TERMINATING,
};

/* One task queue of a version (DescribeWorkerDeploymentVersion). */
struct planner_task_queue {
	const char			*name;
	enum planner_queue_type		 type;
	bool				 has_pollers;	/* a live poller of this version */
	/* Workflow queues only: the gate workflow on this queue. */
	enum planner_gate_state		 gate;
	int64_t				 gate_started_at;
};

/* One version summary (DescribeWorkerDeployment), plus its task queues. */
struct planner_version {
	const char			*build_id;
	enum planner_version_status	 status;
	int64_t				 create_time;
	enum planner_drainage		 drainage;
	int64_t				 drainage_changed_at;
	int64_t				 drainage_checked_at;
	int64_t				 current_since;
	int64_t				 ramping_since;
	int64_t				 routing_update_time;
	int64_t				 first_activation_time;
	int64_t				 last_deactivation_time;
	int64_t				 last_current_time;
	/* false until DescribeWorkerDeploymentVersion answered. */
	bool				 task_queues_known;
	const struct planner_task_queue	*task_queues;
	size_t				 ntask_queues;
};

/* The routing config (DescribeWorkerDeployment). */
struct planner_routing {
	const char		*current_build_id;	/* NULL: unversioned */
	const char		*ramping_build_id;	/* NULL: none or unversioned */
	double			 ramping_percent;	/* 0..100; >0 with NULL: ramp to unversioned */
	int64_t			 current_changed_at;
	int64_t			 ramping_changed_at;
	int64_t			 ramping_percent_changed_at;
	const unsigned char	*conflict_token;
	size_t			 conflict_token_len;	/* 0: none observed */
};

/* One Kubernetes Deployment carrying the twa.dev/deployment label. */
struct planner_deployment {
	const char		*name;
	const char		*uid;
	const char		*build_id;	/* computed from its pod template */
	int64_t			 created_at;
	bool			 deleting;	/* deletionTimestamp set */
	int32_t			 replicas;	/* spec.replicas */
	int32_t			 ready_replicas;	/* status.readyReplicas (reported only) */
	int64_t			 available_since;	/* Available=True since; 0: not Available */
	/* The pod template changed in place (generation ahead of observedGeneration,
	   or pods of an older template hash still exist). */
	bool			 template_changed;
	/* Build ID of the template it ran before, when known; else NULL. */
	const char		*prev_build_id;
	/* Parsed twa.dev/ annotations of its pod template; NULL: config->defaults. */
	const struct settings	*settings;
};

/* One agent's health report from the Lease. */
struct planner_health {
	const char		*pod;
	const char		*build_id;
	enum planner_pod_state	 state;
	int64_t			 changed_at;
	int64_t			 written_at;
};

/* Everything the leader observed in one pass. */
struct planner_observed {
	/* false: DescribeWorkerDeployment failed; the planner then only reports.
	   A deployment Temporal does not know (NOT_FOUND) is observed, empty. */
	bool				 temporal_observed;
	struct planner_routing		 routing;
	const char			*manager_identity;	/* NULL or "": nobody */
	const struct planner_version	*versions;
	size_t				 nversions;
	const struct planner_deployment	*deployments;
	size_t				 ndeployments;
	const struct planner_health	*health;	/* one entry per pod */
	size_t				 nhealth;
};

/* What does not change between passes. */
struct planner_config {
	const char		*deployment_name;	/* Temporal name, "<ns>/<label>" */
	const char		*identity;		/* manager identity, "twa:<ns>/<label>" */
	const struct settings	*defaults;		/* settings when no Deployment has any */
};

enum planner_action_kind {
	PLANNER_CLAIM_MANAGER,		/* SetWorkerDeploymentManager(self) */
	PLANNER_SET_CURRENT,		/* SetWorkerDeploymentCurrentVersion */
	PLANNER_SET_RAMPING,		/* SetWorkerDeploymentRampingVersion */
	PLANNER_START_GATE,		/* StartWorkflowExecution, pinned */
	PLANNER_SCALE,			/* PATCH .../deployments/NAME/scale */
	PLANNER_DELETE_DEPLOYMENT,	/* DELETE with preconditions.uid */
	PLANNER_DELETE_VERSION,		/* DeleteWorkerDeploymentVersion */
	PLANNER_EVENT,			/* record an Event, nothing else */
};

enum planner_event_type {
	PLANNER_EVENT_NORMAL,
	PLANNER_EVENT_WARNING,
};

/*
 * One action. Fields not listed for a kind are NULL/0. Every action has
 * reason (a human sentence: why), event_type and event_reason (CamelCase)
 * and, where one exists, the Deployment it regards (regarding_name/uid;
 * NULL when the version has no Deployment, e.g. a version deleted on the
 * Temporal side only).
 *   CLAIM_MANAGER:  identity, conflict_token
 *   SET_CURRENT:    build_id, identity, conflict_token
 *   SET_RAMPING:    build_id (NULL with percent 0: clear the ramp), percent,
 *                   identity, conflict_token
 *   START_GATE:     build_id, workflow_id, workflow_type, task_queue,
 *                   input (JSON text or NULL), timeout_ms (run timeout),
 *                   identity
 *   SCALE:          build_id, deployment, uid, replicas (always 0)
 *   DELETE_DEPLOYMENT: build_id, deployment, uid (the precondition)
 *   DELETE_VERSION: build_id, identity
 *   EVENT:          build_id (may be NULL), message; reason == message
 * The Temporal deployment name is config->deployment_name.
 */
struct planner_action {
	enum planner_action_kind kind;
	char			*reason;
	enum planner_event_type	 event_type;
	char			*event_reason;
	char			*regarding_name;
	char			*regarding_uid;
	char			*build_id;
	int			 percent;
	char			*identity;
	unsigned char		*conflict_token;
	size_t			 conflict_token_len;
	char			*workflow_id;
	char			*workflow_type;
	char			*task_queue;
	char			*input;
	int64_t			 timeout_ms;
	char			*deployment;
	char			*uid;
	int32_t			 replicas;
	char			*message;
};

/* A version's state as the status summary shows it. */
enum planner_state {
	PLANNER_STATE_NOT_REGISTERED,
	PLANNER_STATE_INACTIVE,
	PLANNER_STATE_RAMPING,
	PLANNER_STATE_CURRENT,
	PLANNER_STATE_DRAINING,
	PLANNER_STATE_DRAINED,
};

/* One line of the status summary. */
struct planner_status_version {
	char			*build_id;
	enum planner_state	 state;
	double			 ramp_percent;	/* Ramping only */
	bool			 target;
	int			 healthy;
	int			 total;
	int			 required;	/* target only, else 0 */
	size_t			 ndeployments;
	/* Progressive ramp of the target: 1-based step, 0 when not on a step. */
	int			 step;
	int			 nsteps;
	int64_t			 step_started_at;
	int64_t			 next_step_at;	/* 0: none scheduled */
	int64_t			 scale_down_at;	/* sunset schedule, 0: none */
	int64_t			 delete_at;
	char			*blocked;	/* why nothing happens, or NULL */
};

/* The leader's summary (Lease annotation twa.dev/status). */
struct planner_status {
	char				*target_build_id;	/* NULL: no target */
	enum settings_rollout		 rollout;
	char				*blocked;	/* deployment-wide block, or NULL */
	size_t				 unknown_health;	/* entries of unknown builds */
	size_t				 stale_health;		/* entries ignored as stale */
	struct planner_status_version	*versions;	/* newest first */
	size_t				 nversions;
};

/* The result of one plan. */
struct planner_result {
	struct planner_action	*actions;	/* execute in this order */
	size_t			 nactions;
	/* Plan again by then (after now; 0: nothing timed): the earliest of
	   the next ramp step, the abort deadline (one ms past it), the end of
	   a recovery wait, a gate timeout, a scaledown or a delete time. */
	int64_t			 wake_at;
	char			*summary;	/* one line: what was decided and why */
	struct planner_status	 status;
};

/*
 * Plan one pass. On success fills *out (release with planner_result_free)
 * and returns 0. An observation that breaks the interface (NULL or empty
 * names, duplicates, out-of-range enums or percentages, invalid settings)
 * returns -1, leaves *out empty and sets *cause (caller frees) naming the
 * field and what was expected.
 */
int	 planner_plan(const struct planner_observed *obs,
	    const struct planner_config *cfg, int64_t now,
	    struct planner_result *out, char **cause);
/* Release everything a result owns and zero it. */
void	 planner_result_free(struct planner_result *r);
/*
 * Write the gate workflow ID of (deployment, build, task queue) into out:
 * "twa-gate:<deployment>:<build>:<task queue>", each part with bytes outside
 * [A-Za-z0-9._/-] written as %XX (so ':' only separates); an ID longer than
 * PLANNER_GATE_ID_MAX is cut to 238 bytes plus "~" and 16 hex digits of the
 * FNV-1a 64 hash of the full ID. Returns the length.
 */
size_t	 planner_gate_id(const char *deployment, const char *build_id,
	    const char *task_queue, char out[PLANNER_GATE_ID_MAX + 1]);
/* Name of a state: "NotRegistered", "Inactive", "Ramping", ... (static). */
const char *planner_state_name(enum planner_state s);
/* Name of an action kind: "SetCurrent", "Scale", ... (static). */
const char *planner_action_name(enum planner_action_kind k);
/* One-line description of an action without its reason. Caller frees. */
char	*planner_action_format(const struct planner_action *a);
/* The status as a JSON object (times RFC 3339, six digits). Caller decrefs. */
json_t	*planner_status_json(const struct planner_status *st);

#endif
