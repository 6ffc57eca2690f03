/*
 * e2e: the world of an end-to-end scenario. Starts the Kubernetes and
 * Temporal simulators, creates Deployments, and plays kubelet: for every
 * Pod the simulated controllers create it starts a "pod" made of a fake
 * worker (t/e2e/fakeworker) and a real `twa agent`, restarts an agent that
 * dies while its pod lives, and stops both when the Pod goes. Reads the
 * simulators' state for assertions. Every wait has a deadline; a failed
 * wait prints what the world looked like.
 *
 * Environment: TWA_E2E_VALGRIND=1 wraps every agent in
 * `valgrind --error-exitcode=1 --leak-check=full`; TWA_E2E_KEEP=1 keeps
 * the scenario directory (logs) even when it passes.
 */
#ifndef TWA_E2E_H
#define TWA_E2E_H

#include <stdbool.h>
#include <sys/types.h>

#include <jansson.h>

/* Namespace of every scenario, and the twa.dev/deployment label. */
#define E2E_NS		"prod"
#define E2E_LABEL	"orders"
#define E2E_TDEPLOYMENT	E2E_NS "/" E2E_LABEL
#define E2E_TQ		"orders"

struct e2e;

/* Options of one world (zero: defaults). */
struct e2e_opts {
	const char	*scenario;	/* names the directory and logs */
	bool		 no_kubelet;	/* pods are objects only (no processes) */
	bool		 quiet;		/* do not print the timeline */
	bool		 brief;		/* timeline without pod lines */
	const char	*const *temporal_args;	/* extra simulator flags */
	/* agent timings (0: the scenario defaults below) */
	int		 lease_ms;	/* 3000 */
	int		 renew_ms;	/* 2000 */
	int		 retry_ms;	/* 500 */
	const char	*report_interval;	/* "1s" */
	int		 restart_delay_ms;	/* before an agent restarts; 10000 */
};

/* One routing state seen by the timeline. */
struct e2e_route {
	long long	 at;		/* e2e_elapsed() when first seen */
	/* server time (ms since the epoch) of the change: the ramp
	   percentage's when ramping, else the current version's */
	long long	 changed;
	char		 current[64];	/* "" when unversioned */
	char		 ramp[64];	/* "" when none */
	double		 pct;
};

/* Failures print and exit(1) instead of failing a Check test. */
void e2e_standalone(void);
/* Start a world; aborts the test (ck_abort) when it cannot. */
struct e2e *e2e_start(const struct e2e_opts *o);
/*
 * Stop every pod (SIGTERM, then wait), check that no agent failed (exit
 * status, valgrind errors) and stop the simulators. ok false keeps the
 * directory for the logs.
 */
void e2e_stop(struct e2e *w);
/* Scenario directory (logs). */
const char *e2e_dir(const struct e2e *w);
/* Milliseconds since the world started. */
long long e2e_elapsed(const struct e2e *w);
/* Print one timeline line "[  12.3s] text" (unless quiet). */
void e2e_note(struct e2e *w, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/*
 * Create Deployment name (label twa.dev/deployment=orders) whose pod
 * template runs build (annotation twa.dev/build-id unless computed is
 * true, then only the image tag differs) with replicas pods, extra
 * template annotations (JSON object text or NULL), and workflows pinned
 * workflows started by each pod's fake worker.
 */
void e2e_deploy(struct e2e *w, const char *name, const char *build,
    int replicas, const char *annotations, int workflows);
/*
 * Create Deployment name whose worker image is registry.example/orders:TAG
 * with no twa.dev/build-id: the build ID is computed from the pod template
 * (image tag + hash) as the webhook and the leader do. Returns it; caller
 * frees.
 */
char *e2e_deploy_image(struct e2e *w, const char *name, const char *tag,
    int replicas, const char *annotations, int workflows);
/* Merge-patch the pod template annotations of Deployment name (admin). */
void e2e_annotate(struct e2e *w, const char *name, const char *key,
    const char *value);
/* Workers of build answer 503 on /healthz (true) or 200 (false). */
void e2e_set_unhealthy(struct e2e *w, const char *build, bool sick);

/* Admin request to a simulator; returns the HTTP status, *out the body. */
int e2e_kadmin(struct e2e *w, const char *method, const char *path,
    const char *body, json_t **out);
int e2e_tadmin(struct e2e *w, const char *method, const char *path,
    const char *body, json_t **out);
/* The HTTPS API port, the CA file and the token file of the API server. */
int e2e_kube_port(const struct e2e *w);
const char *e2e_kube_ca(const struct e2e *w);
const char *e2e_kube_token_file(const struct e2e *w);
/* "127.0.0.1:PORT" of the Temporal frontend. */
const char *e2e_temporal_address(const struct e2e *w);
/* Admin port of the Temporal simulator. */
int e2e_temporal_admin_port(const struct e2e *w);

/*
 * Wait until cond(w, arg) holds, keeping the pods in step with the
 * cluster; false after timeout_ms, with the world printed for what.
 */
bool e2e_wait(struct e2e *w, const char *what,
    bool (*cond)(struct e2e *, void *), void *arg, int timeout_ms);
/* Let the world run for ms milliseconds (pods kept in step). */
void e2e_run_for(struct e2e *w, int ms);
/* Keep pods in step once (wait loops call it). */
void e2e_sync(struct e2e *w);

/* The Temporal deployment of the scenario from the state dump, or NULL. */
json_t *e2e_tdep(struct e2e *w);
/* Current build ID ("" when unversioned or unknown). Caller frees. */
char *e2e_current(struct e2e *w);
/* Ramping build ID and percentage (NULL, 0 when none). Caller frees. */
char *e2e_ramping(struct e2e *w, double *pct);
/* Temporal requests of a method so far (counters of the simulator). */
long long e2e_trequests(struct e2e *w, const char *method);
/* Temporal errors of a method with a code ("FAILED_PRECONDITION") so far. */
long long e2e_terrors(struct e2e *w, const char *method, const char *code);
/* Whether the Temporal version of build exists. */
bool e2e_version_exists(struct e2e *w, const char *build);
/* Status of the latest workflow run with this ID, or NULL. Caller frees. */
char *e2e_workflow_status(struct e2e *w, const char *workflow_id);

/* Deployment name, or NULL when gone. Caller decrefs. */
json_t *e2e_deployment(struct e2e *w, const char *name);
/* spec.replicas of Deployment name, or -1 when it is gone. */
int e2e_replicas(struct e2e *w, const char *name);
/* Events whose reason is reason (NULL: all) regarding name (NULL: any). */
int e2e_events(struct e2e *w, const char *reason, const char *regarding);
/* The Lease twa-orders, or NULL. Caller decrefs. */
json_t *e2e_lease(struct e2e *w);
/* Holder of the Lease ("" when none). Caller frees. */
char *e2e_leader(struct e2e *w);
/* The leader's status annotation, parsed, or NULL. Caller decrefs. */
json_t *e2e_status(struct e2e *w);
/* Health entries in state "ready" for build. */
int e2e_ready(struct e2e *w, const char *build);

/* Routing states seen so far, in order; owned by w. */
size_t e2e_routes(struct e2e *w, const struct e2e_route **out);
/* Index of the first route at or after from equal to (current, ramp, pct), or -1. */
int e2e_route_find(struct e2e *w, size_t from, const char *current,
    const char *ramp, double pct);

/*
 * A human with the Temporal API (identity "alice"): set the manager
 * identity (manager "" clears it) or the ramp, without a conflict token.
 * Returns the gRPC code (0: OK).
 */
int e2e_human_set_manager(struct e2e *w, const char *manager);
int e2e_human_set_ramping(struct e2e *w, const char *build, double pct);

/* Running pods (agent alive) of build (NULL: all). */
int e2e_pods(struct e2e *w, const char *build);
/* Name of the i-th running pod (agent alive), or NULL past the end. */
const char *e2e_pod_name(struct e2e *w, size_t i);
/* Send sig to the agent of pod; it is restarted when it dies. */
void e2e_kill_agent(struct e2e *w, const char *pod, int sig);
/* Agent restarts so far. */
int e2e_restarts(const struct e2e *w);
/* Pid of the agent of pod, or -1. */
pid_t e2e_agent_pid(struct e2e *w, const char *pod);

/* Run `twa status orders --json` and parse its output; NULL on failure. */
json_t *e2e_status_json(struct e2e *w);
/* Run `twa status orders` against the world and print it (timeline). */
void e2e_print_status(struct e2e *w);

/* Common conditions for e2e_wait: arg is a build ID. */
bool e2e_cond_current(struct e2e *w, void *build);
bool e2e_cond_ready(struct e2e *w, void *build);	/* all its pods ready */
/* arg: struct e2e_ramp. */
struct e2e_ramp {
	const char	*build;
	double		 pct;
};
bool e2e_cond_ramp(struct e2e *w, void *ramp);
/* arg: Deployment name: it is gone. */
bool e2e_cond_gone(struct e2e *w, void *name);
/* arg: Deployment name: spec.replicas is 0. */
bool e2e_cond_scaled_to_zero(struct e2e *w, void *name);
/* arg: build: the Temporal version was deleted. */
bool e2e_cond_version_deleted(struct e2e *w, void *build);
/* arg: an Event reason: at least one such Event exists. */
bool e2e_cond_event(struct e2e *w, void *reason);
/* arg: unused: a leader holds the Lease and published a status. */
bool e2e_cond_leader(struct e2e *w, void *unused);

#endif
