/*
 * Tests of the Temporal client against the Temporal simulator: every RPC,
 * every error class, deadlines, retries, a restart mid-call, shutdown with
 * calls in flight, API keys and version gating.
 */
#include "config.h"

#include <sys/stat.h>

#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "check_main.h"
#include "log.h"
#include "proc.h"
#include "temporal.h"
#include "test_temporal_sim.h"
#include "xalloc.h"

#define DEP	"prod/orders"
#define IDENT	"twa:prod/orders"

static struct event_base *base;
static struct tsim *sim;

/* Default simulator: strict about the temporal-namespace header. */
static const char *const strict_args[] = {
	"--require-namespace-header", "--log-level", "warn", NULL
};

/* The shared one logs at info level: every request as the official schema decodes it. */
static const char *const info_args[] = {
	"--require-namespace-header", NULL
};

static struct tsim *shared;

/* Once per run: the simulator most tests share (reset before each). */
static void
shared_start(void)
{
	shared = tsim_start(info_args, 0);
}

static void
shared_stop(void)
{
	tsim_stop(shared);
	shared = NULL;
}

/* A test on the shared simulator: fresh state, no faults, no counters. */
static void
setup_shared(void)
{
	log_set_level(LOG_LEVEL_ERROR);
	base = event_base_new();
	ck_assert_ptr_nonnull(base);
	sim = shared;
	ck_assert_int_eq(tsim_admin(sim, "POST", "/reset", NULL, NULL), 200);
}

static void
teardown_shared(void)
{
	ck_assert_int_eq(tsim_state_int(sim, "counters.unknownFieldRequests"), 0);
	sim = NULL;
	event_base_free(base);
}

/* A test that starts simulators of its own. */
static void
setup(void)
{
	log_set_level(LOG_LEVEL_ERROR);
	base = event_base_new();
	ck_assert_ptr_nonnull(base);
	sim = NULL;
}

static void
teardown(void)
{
	tsim_stop(sim);
	sim = NULL;
	event_base_free(base);
}

/* The text of the simulator's log so far. Caller frees. */
static char *
sim_log_text(void)
{
	FILE *f = fopen(sim->log, "r");
	char *buf;
	size_t n;

	ck_assert_ptr_nonnull(f);
	buf = xmalloc(4 * 1024 * 1024 + 1);
	n = fread(buf, 1, 4 * 1024 * 1024, f);
	buf[n] = '\0';
	fclose(f);
	return buf;
}

/* A client of the current simulator; retry policy from the arguments. */
static struct temporal *
client(int timeout_ms, unsigned attempts, const char *key_file)
{
	struct temporal_config cfg = {
		.address = sim->addr, .ns = "default", .identity = IDENT,
		.api_key_file = key_file, .timeout_ms = timeout_ms,
		.retry = { 20, 200, attempts },
	};
	struct temporal *t;
	char *cause = NULL;

	t = temporal_new(base, &cfg, &cause);
	ck_assert_msg(t != NULL, "temporal_new: %s", cause);
	return t;
}

/* Add a fault through the admin API. */
static void
fault(const char *json)
{
	ck_assert_int_eq(tsim_admin(sim, "POST", "/faults", json, NULL), 200);
}

/* Find a version summary by build ID. */
static const struct temporal_version_summary *
summary(const struct temporal_deployment *d, const char *build)
{
	for (size_t i = 0; i < d->nversions; i++) {
		if (strcmp(d->versions[i].build_id, build) == 0)
			return &d->versions[i];
	}
	ck_abort_msg("no version %s in the deployment", build);
	return NULL;
}

START_TEST(test_system_info)
{
	struct temporal *t;
	struct rec r = { 0 };
	char *cause = NULL;

	t = client(5000, 3, NULL);
	ck_assert_int_eq(temporal_get_system_info(t, rec_system_info_cb, &r,
	    &cause), 0);
	ck_assert_uint_eq(temporal_pending(t), 1);
	rec_wait(base, &r);
	ck_assert_int_eq(r.code, 0);
	ck_assert_str_eq(r.si->server_version, "1.29.0");
	ck_assert_int_eq(r.si->major, 1);
	ck_assert_int_eq(r.si->minor, 29);
	ck_assert(r.si->deployments);
	ck_assert(r.si->manager);
	ck_assert_uint_eq(temporal_pending(t), 0);
	rec_reset(&r);
	temporal_free(t);
}
END_TEST

START_TEST(test_deployment_rollout)
{
	struct temporal *t;
	struct temporal_token tok;
	const struct temporal_version_summary *s;
	struct rec r = { 0 };
	char *cause = NULL;

	tsim_poller(sim, "orders-tq", DEP, "v1");
	tsim_poller(sim, "orders-tq", DEP, "v2");
	t = client(5000, 3, NULL);

	/* Fresh deployment: two inactive versions, unversioned Current. */
	ck_assert_int_eq(temporal_describe_deployment(t, DEP, rec_deployment_cb,
	    &r, &cause), 0);
	rec_wait(base, &r);
	ck_assert_msg(r.code == 0, "%s", r.msg);
	ck_assert_str_eq(r.dep->name, DEP);
	ck_assert_uint_eq(r.dep->nversions, 2);
	ck_assert_ptr_null(r.dep->routing.current.build_id);
	ck_assert(!r.dep->routing.ramp);
	ck_assert_int_eq(summary(r.dep, "v1")->status, TEMPORAL_VERSION_INACTIVE);
	ck_assert_uint_gt(r.dep->token.len, 0);
	ck_assert_int_gt(r.dep->create_us, 1600000000000000LL);
	tok = r.dep->token;
	rec_reset(&r);

	/* v1 Current with the token; the new token differs. */
	ck_assert_int_eq(temporal_set_current(t, DEP, "v1", &tok, 0,
	    rec_token_cb, &r, &cause), 0);
	rec_wait(base, &r);
	ck_assert_msg(r.code == 0, "%s", r.msg);
	ck_assert(r.tok.len != tok.len ||
	    memcmp(r.tok.data, tok.data, tok.len) != 0);
	tok = r.tok;
	rec_reset(&r);

	/* Ramp v2 at 25 %. */
	ck_assert_int_eq(temporal_set_ramping(t, DEP, "v2", 25, &tok, 0,
	    rec_token_cb, &r, &cause), 0);
	rec_wait(base, &r);
	ck_assert_msg(r.code == 0, "%s", r.msg);
	tok = r.tok;
	rec_reset(&r);

	ck_assert_int_eq(temporal_describe_deployment(t, DEP, rec_deployment_cb,
	    &r, &cause), 0);
	rec_wait(base, &r);
	ck_assert_msg(r.code == 0, "%s", r.msg);
	ck_assert_str_eq(r.dep->routing.current.build_id, "v1");
	ck_assert_str_eq(r.dep->routing.current.deployment_name, DEP);
	ck_assert_str_eq(r.dep->routing.ramping.build_id, "v2");
	ck_assert(r.dep->routing.ramp);
	ck_assert(fabsf(r.dep->routing.ramping_percentage - 25) < 0.001);
	ck_assert_int_gt(r.dep->routing.ramping_percentage_changed_us, 0);
	ck_assert_int_eq(summary(r.dep, "v1")->status, TEMPORAL_VERSION_CURRENT);
	ck_assert_int_eq(summary(r.dep, "v2")->status, TEMPORAL_VERSION_RAMPING);
	ck_assert_str_eq(r.dep->last_modifier_identity, IDENT);
	ck_assert_uint_eq(r.dep->token.len, tok.len);
	ck_assert(memcmp(r.dep->token.data, tok.data, tok.len) == 0);
	rec_reset(&r);

	ck_assert_int_eq(temporal_describe_version(t, DEP, "v2", rec_version_cb,
	    &r, &cause), 0);
	rec_wait(base, &r);
	ck_assert_msg(r.code == 0, "%s", r.msg);
	ck_assert_str_eq(r.ver->deployment_name, DEP);
	ck_assert_str_eq(r.ver->build_id, "v2");
	ck_assert_int_eq(r.ver->status, TEMPORAL_VERSION_RAMPING);
	ck_assert(fabsf(r.ver->ramp_percentage - 25) < 0.001);
	ck_assert_uint_eq(r.ver->ntask_queues, 1);
	ck_assert_str_eq(r.ver->task_queues[0].name, "orders-tq");
	ck_assert_int_eq(r.ver->task_queues[0].type, TEMPORAL_TQ_WORKFLOW);
	rec_reset(&r);

	/* Promote v2: v1 starts draining. */
	ck_assert_int_eq(temporal_set_current(t, DEP, "v2", &tok, 0,
	    rec_token_cb, &r, &cause), 0);
	rec_wait(base, &r);
	ck_assert_msg(r.code == 0, "%s", r.msg);
	tok = r.tok;
	rec_reset(&r);
	ck_assert_int_eq(temporal_describe_version(t, DEP, "v1", rec_version_cb,
	    &r, &cause), 0);
	rec_wait(base, &r);
	ck_assert_msg(r.code == 0, "%s", r.msg);
	ck_assert_int_eq(r.ver->status, TEMPORAL_VERSION_DRAINING);
	ck_assert(r.ver->drainage.present);
	ck_assert_int_eq(r.ver->drainage.status, TEMPORAL_DRAINAGE_DRAINING);
	ck_assert_int_gt(r.ver->drainage.changed_us, 0);
	rec_reset(&r);
	ck_assert_int_eq(temporal_describe_deployment(t, DEP, rec_deployment_cb,
	    &r, &cause), 0);
	rec_wait(base, &r);
	s = summary(r.dep, "v1");
	ck_assert_int_eq(s->status, TEMPORAL_VERSION_DRAINING);
	ck_assert_int_eq(s->drainage.status, TEMPORAL_DRAINAGE_DRAINING);
	ck_assert_int_gt(s->last_deactivation_us, 0);
	ck_assert(!r.dep->routing.ramp);
	rec_reset(&r);

	/* Manager: claim, then see it, then clear it. */
	ck_assert_int_eq(temporal_set_manager(t, DEP, NULL, &tok, rec_token_cb,
	    &r, &cause), 0);
	rec_wait(base, &r);
	ck_assert_msg(r.code == 0, "%s", r.msg);
	tok = r.tok;
	rec_reset(&r);
	ck_assert_int_eq(temporal_describe_deployment(t, DEP, rec_deployment_cb,
	    &r, &cause), 0);
	rec_wait(base, &r);
	ck_assert_str_eq(r.dep->manager_identity, IDENT);
	rec_reset(&r);
	ck_assert_int_eq(temporal_set_manager(t, DEP, "", &tok, rec_token_cb,
	    &r, &cause), 0);
	rec_wait(base, &r);
	ck_assert_msg(r.code == 0, "%s", r.msg);
	rec_reset(&r);
	ck_assert_int_eq(temporal_describe_deployment(t, DEP, rec_deployment_cb,
	    &r, &cause), 0);
	rec_wait(base, &r);
	ck_assert_str_eq(r.dep->manager_identity, "");
	rec_reset(&r);

	/* Delete v1: refused while draining, then while it has pollers. */
	ck_assert_int_eq(temporal_delete_version(t, DEP, "v1", false,
	    rec_done_cb, &r, &cause), 0);
	rec_wait(base, &r);
	ck_assert_int_eq(r.code, TEMPORAL_FAILED_PRECONDITION);
	ck_assert_msg(strstr(r.msg, "draining") != NULL, "%s", r.msg);
	ck_assert(!r.local);
	rec_reset(&r);
	ck_assert_int_eq(temporal_delete_version(t, DEP, "v1", true,
	    rec_done_cb, &r, &cause), 0);
	rec_wait(base, &r);
	ck_assert_int_eq(r.code, TEMPORAL_FAILED_PRECONDITION);
	ck_assert_msg(strstr(r.msg, "pollers") != NULL, "%s", r.msg);
	rec_reset(&r);
	ck_assert_int_eq(tsim_admin(sim, "POST", "/pollers/expire",
	    "{\"buildId\":\"v1\"}", NULL), 200);
	ck_assert_int_eq(temporal_delete_version(t, DEP, "v1", true,
	    rec_done_cb, &r, &cause), 0);
	rec_wait(base, &r);
	ck_assert_msg(r.code == 0, "%s", r.msg);
	rec_reset(&r);
	ck_assert_int_eq(temporal_describe_version(t, DEP, "v1", rec_version_cb,
	    &r, &cause), 0);
	rec_wait(base, &r);
	ck_assert_int_eq(r.code, TEMPORAL_NOT_FOUND);
	rec_reset(&r);
	temporal_free(t);
}
END_TEST

START_TEST(test_task_queue_and_gate)
{
	struct temporal *t;
	struct temporal_start_params p = {
		.workflow_id = "twa-gate-orders-v2", .workflow_type = "Gate",
		.task_queue = "orders-tq", .input_json = "{\"a\":1}",
		.deployment_name = DEP, .build_id = "v2",
		.execution_timeout_ms = 600000,
	};
	struct temporal_start_params retry;
	struct rec r = { 0 };
	char *cause = NULL, *run_id, *retry_run, *log;
	bool found = false;

	tsim_poller(sim, "orders-tq", DEP, "v2");
	t = client(5000, 3, NULL);

	ck_assert_int_eq(temporal_describe_task_queue(t, "orders-tq",
	    TEMPORAL_TQ_WORKFLOW, rec_task_queue_cb, &r, &cause), 0);
	rec_wait(base, &r);
	ck_assert_msg(r.code == 0, "%s", r.msg);
	for (size_t i = 0; i < r.tq->npollers; i++) {
		const struct temporal_poller *pl = &r.tq->pollers[i];

		if (pl->version.build_id != NULL &&
		    strcmp(pl->version.build_id, "v2") == 0) {
			ck_assert_str_eq(pl->version.deployment_name, DEP);
			ck_assert_int_eq(pl->mode, TEMPORAL_MODE_VERSIONED);
			ck_assert_str_eq(pl->identity, "worker-v2");
			ck_assert_int_gt(pl->last_access_us, 0);
			found = true;
		}
	}
	ck_assert(found);
	rec_reset(&r);

	/* Gate workflow pinned to v2, JSON input. */
	ck_assert_int_eq(tsim_admin(sim, "POST", "/gate-outcomes",
	    "{\"workflowType\":\"Gate\",\"outcome\":\"none\"}", NULL), 200);
	ck_assert_int_eq(temporal_start_workflow(t, &p, rec_started_cb, &r,
	    &cause), 0);
	rec_wait(base, &r);
	ck_assert_msg(r.code == 0, "%s", r.msg);
	ck_assert(r.started->started);
	ck_assert_uint_gt(strlen(r.started->run_id), 0);
	run_id = xstrdup(r.started->run_id);
	rec_reset(&r);
	/*
	 * What the server decoded: one json/plain payload holding {"a":1}
	 * (base64 in the log), the pin, the identity, a UUID request ID.
	 */
	log = sim_log_text();
	ck_assert_msg(strstr(log, "\"metadata\":{\"encoding\":\"anNvbi9wbGFpbg==\"},"
	    "\"data\":\"eyJhIjoxfQ==\"") != NULL, "input not as expected");
	ck_assert_msg(strstr(log, "\"versioningOverride\":{\"pinned\":{\"behavior\":"
	    "\"PINNED_OVERRIDE_BEHAVIOR_PINNED\",\"version\":{\"buildId\":\"v2\","
	    "\"deploymentName\":\"prod/orders\"}}") != NULL, "pin not as expected");
	ck_assert(strstr(log, "\"identity\":\"" IDENT "\"") != NULL);
	ck_assert(strstr(log, "\"workflowExecutionTimeout\":{\"seconds\":\"600\"}") != NULL);
	free(log);

	/* The same workflow ID again, another request ID: ALREADY_EXISTS. */
	ck_assert_int_eq(temporal_start_workflow(t, &p, rec_started_cb, &r,
	    &cause), 0);
	rec_wait(base, &r);
	ck_assert_int_eq(r.code, TEMPORAL_ALREADY_EXISTS);
	rec_reset(&r);

	/* A retried start (same request ID) gets the same run back. */
	retry = p;
	retry.workflow_id = "twa-gate-orders-v2-retry";
	retry.request_id = "5b0f8f8e-3f4a-4c39-9d4e-2b1a8f0c7d11";
	retry.input_json = "[1, \"two\", {\"three\": null}]";
	ck_assert_int_eq(temporal_start_workflow(t, &retry, rec_started_cb, &r,
	    &cause), 0);
	rec_wait(base, &r);
	ck_assert_msg(r.code == 0, "%s", r.msg);
	ck_assert(r.started->started);
	retry_run = xstrdup(r.started->run_id);
	rec_reset(&r);
	ck_assert_int_eq(temporal_start_workflow(t, &retry, rec_started_cb, &r,
	    &cause), 0);
	rec_wait(base, &r);
	ck_assert_msg(r.code == 0, "%s", r.msg);
	ck_assert(!r.started->started);
	ck_assert_str_eq(r.started->run_id, retry_run);
	free(retry_run);
	rec_reset(&r);

	ck_assert_int_eq(temporal_describe_workflow(t, p.workflow_id, NULL,
	    rec_workflow_cb, &r, &cause), 0);
	rec_wait(base, &r);
	ck_assert_msg(r.code == 0, "%s", r.msg);
	ck_assert_str_eq(r.wf->run_id, run_id);
	ck_assert_str_eq(r.wf->type, "Gate");
	ck_assert_str_eq(r.wf->task_queue, "orders-tq");
	ck_assert_int_eq(r.wf->status, TEMPORAL_WORKFLOW_RUNNING);
	ck_assert_str_eq(r.wf->pinned.deployment_name, DEP);
	ck_assert_str_eq(r.wf->pinned.build_id, "v2");
	rec_reset(&r);

	ck_assert_int_eq(temporal_count_workflows(t,
	    "TemporalWorkerDeploymentVersion = 'prod/orders:v2' AND "
	    "ExecutionStatus = 'Running'", rec_count_cb, &r, &cause), 0);
	rec_wait(base, &r);
	ck_assert_msg(r.code == 0, "%s", r.msg);
	ck_assert_int_eq(r.count, 2);
	rec_reset(&r);

	ck_assert_int_eq(tsim_admin(sim, "POST", "/workflows/finish",
	    "{\"workflowId\":\"twa-gate-orders-v2\",\"status\":\"failed\"}",
	    NULL), 200);
	ck_assert_int_eq(temporal_describe_workflow(t, p.workflow_id, run_id,
	    rec_workflow_cb, &r, &cause), 0);
	rec_wait(base, &r);
	ck_assert_msg(r.code == 0, "%s", r.msg);
	ck_assert_int_eq(r.wf->status, TEMPORAL_WORKFLOW_FAILED);
	ck_assert_int_gt(r.wf->close_us, 0);
	rec_reset(&r);

	ck_assert_int_eq(temporal_count_workflows(t,
	    "ExecutionStatus = 'Running'", rec_count_cb, &r, &cause), 0);
	rec_wait(base, &r);
	ck_assert_int_eq(r.count, 1);
	rec_reset(&r);
	free(run_id);
	temporal_free(t);
}
END_TEST

/* One server-side error case: a call that must fail with code. */
struct error_case {
	const char	*name;
	int		 code;
	const char	*text;		/* part of the message */
};

static const struct error_case server_errors[] = {
	{ "describe unknown deployment", TEMPORAL_NOT_FOUND, "Worker Deployment" },
	{ "describe unknown version", TEMPORAL_NOT_FOUND, "not found" },
	{ "conflict token mismatch", TEMPORAL_FAILED_PRECONDITION, "conflict token" },
	{ "ramp the current version", TEMPORAL_FAILED_PRECONDITION, "already current" },
	{ "build ID starting with __", TEMPORAL_INVALID_ARGUMENT, "" },
	{ "set current of unknown build", TEMPORAL_NOT_FOUND, "not found" },
	{ "workflow not found", TEMPORAL_NOT_FOUND, "" },
	{ "bad visibility query", TEMPORAL_INVALID_ARGUMENT, "query" },
};

START_TEST(test_server_errors)
{
	const struct error_case *c = &server_errors[_i];
	struct temporal_token stale = { 0 };
	struct temporal *t;
	struct rec r = { 0 };
	char *cause = NULL;
	int rc = -1;

	tsim_poller(sim, "orders-tq", DEP, "v1");
	tsim_poller(sim, "orders-tq", DEP, "v2");
	t = client(5000, 3, NULL);
	switch (_i) {
	case 0:
		rc = temporal_describe_deployment(t, "nobody", rec_deployment_cb,
		    &r, &cause);
		break;
	case 1:
		rc = temporal_describe_version(t, DEP, "v9", rec_version_cb, &r,
		    &cause);
		break;
	case 2:
		/* A stale token with a real change. */
		stale.len = 3;
		memcpy(stale.data, "old", 3);
		rc = temporal_set_current(t, DEP, "v1", &stale, 0,
		    rec_token_cb, &r, &cause);
		break;
	case 3:
		rc = temporal_set_current(t, DEP, "v1", NULL, 0, rec_token_cb,
		    &r, &cause);
		ck_assert_int_eq(rc, 0);
		rec_wait(base, &r);
		ck_assert_int_eq(r.code, 0);
		rec_reset(&r);
		rc = temporal_set_ramping(t, DEP, "v1", 10, NULL, 0,
		    rec_token_cb, &r, &cause);
		break;
	case 4:
		rc = temporal_set_current(t, DEP, "__v1", NULL, 0, rec_token_cb,
		    &r, &cause);
		break;
	case 5:
		rc = temporal_set_current(t, DEP, "v9", NULL, 0, rec_token_cb,
		    &r, &cause);
		break;
	case 6:
		rc = temporal_describe_workflow(t, "no-such-workflow", NULL,
		    rec_workflow_cb, &r, &cause);
		break;
	case 7:
		rc = temporal_count_workflows(t, "NoSuchAttribute = 'x'",
		    rec_count_cb, &r, &cause);
		break;
	}
	ck_assert_msg(rc == 0, "%s: %s", c->name, cause);
	rec_wait(base, &r);
	ck_assert_msg(r.code == c->code, "%s: got %s (%s), want %s", c->name,
	    temporal_code_name(r.code), r.msg, temporal_code_name(c->code));
	ck_assert_msg(strstr(r.msg, c->text) != NULL, "%s: message %s",
	    c->name, r.msg);
	ck_assert(!r.local);
	ck_assert_uint_eq(r.attempts, 1);	/* never retried */
	rec_reset(&r);
	temporal_free(t);
}
END_TEST

START_TEST(test_permission_denied)
{
	static const char *const args[] = { "--versioning-disabled",
	    "--log-level", "warn", NULL };
	struct temporal *t;
	struct rec r = { 0 };
	char *cause = NULL;

	sim = tsim_start(args, 0);
	t = client(5000, 3, NULL);
	ck_assert_int_eq(temporal_describe_deployment(t, DEP, rec_deployment_cb,
	    &r, &cause), 0);
	rec_wait(base, &r);
	ck_assert_int_eq(r.code, TEMPORAL_PERMISSION_DENIED);
	ck_assert_msg(strstr(r.msg, "disabled") != NULL, "%s", r.msg);
	rec_reset(&r);
	temporal_free(t);
}
END_TEST

/* Injected fault per code: retried codes exhaust the attempts, others do not. */
static const struct {
	const char	*code;
	int		 want;
	unsigned	 attempts;
} injected[] = {
	{ "UNAVAILABLE", TEMPORAL_UNAVAILABLE, 3 },
	{ "RESOURCE_EXHAUSTED", TEMPORAL_RESOURCE_EXHAUSTED, 3 },
	{ "DEADLINE_EXCEEDED", TEMPORAL_DEADLINE_EXCEEDED, 3 },
	{ "INTERNAL", TEMPORAL_INTERNAL, 1 },
	{ "UNAUTHENTICATED", TEMPORAL_UNAUTHENTICATED, 1 },
	{ "ABORTED", TEMPORAL_ABORTED, 1 },
};

START_TEST(test_injected_codes)
{
	struct temporal *t;
	struct rec r = { 0 };
	char *cause = NULL, *json;

	t = client(5000, 3, NULL);
	json = xasprintf("{\"method\":\"CountWorkflowExecutions\",\"code\":"
	    "\"%s\",\"count\":10,\"message\":\"injected\"}", injected[_i].code);
	fault(json);
	free(json);
	ck_assert_int_eq(temporal_count_workflows(t, "", rec_count_cb, &r,
	    &cause), 0);
	rec_wait(base, &r);
	ck_assert_int_eq(r.code, injected[_i].want);
	ck_assert_uint_eq(r.attempts, injected[_i].attempts);
	ck_assert_str_eq(r.msg, "injected");
	ck_assert(!r.local);
	rec_reset(&r);
	temporal_free(t);
}
END_TEST

START_TEST(test_retry_then_success)
{
	struct temporal *t;
	struct rec r = { 0 };
	char *cause = NULL;

	tsim_poller(sim, "orders-tq", DEP, "v1");
	t = client(5000, 4, NULL);
	fault("{\"method\":\"DescribeWorkerDeployment\",\"code\":\"UNAVAILABLE\","
	    "\"count\":2}");
	fault("{\"method\":\"SetWorkerDeploymentCurrentVersion\",\"code\":"
	    "\"UNAVAILABLE\",\"count\":1,\"phase\":\"after\"}");
	ck_assert_int_eq(temporal_describe_deployment(t, DEP, rec_deployment_cb,
	    &r, &cause), 0);
	rec_wait(base, &r);
	ck_assert_msg(r.code == 0, "%s", r.msg);
	rec_reset(&r);
	/*
	 * The change is applied but its answer lost: the retry (same
	 * identity) is a no-op on the server and succeeds.
	 */
	ck_assert_int_eq(temporal_set_current(t, DEP, "v1", NULL, 0,
	    rec_token_cb, &r, &cause), 0);
	rec_wait(base, &r);
	ck_assert_msg(r.code == 0, "%s", r.msg);
	rec_reset(&r);
	ck_assert_int_eq(tsim_state_int(sim,
	    "counters.requests.DescribeWorkerDeployment"), 3);
	ck_assert_int_eq(tsim_state_int(sim,
	    "counters.requests.SetWorkerDeploymentCurrentVersion"), 2);
	ck_assert_int_eq(tsim_state_int(sim, "counters.requests.GetSystemInfo"), 1);
	temporal_free(t);
}
END_TEST

START_TEST(test_deadline)
{
	struct temporal *t;
	struct rec r = { 0 };
	long long t0;
	char *cause = NULL;

	t = client(300, 1, NULL);
	fault("{\"method\":\"CountWorkflowExecutions\",\"delayMs\":3000,"
	    "\"count\":1}");
	t0 = proc_now_ms();
	ck_assert_int_eq(temporal_count_workflows(t, "", rec_count_cb, &r,
	    &cause), 0);
	rec_wait(base, &r);
	ck_assert_int_eq(r.code, TEMPORAL_DEADLINE_EXCEEDED);
	ck_assert_int_lt(proc_now_ms() - t0, 2500);
	ck_assert_int_ge(proc_now_ms() - t0, 250);
	rec_reset(&r);
	temporal_free(t);

	/* With retries the second attempt (no delay) succeeds. */
	t = client(300, 3, NULL);
	fault("{\"method\":\"CountWorkflowExecutions\",\"delayMs\":3000,"
	    "\"count\":1}");
	ck_assert_int_eq(temporal_count_workflows(t, "", rec_count_cb, &r,
	    &cause), 0);
	rec_wait(base, &r);
	ck_assert_msg(r.code == 0, "%s", r.msg);
	rec_reset(&r);
	temporal_free(t);
}
END_TEST

/* Condition: the simulator has fired the first delay fault (a call is in). */
static bool
fault_fired(void *arg)
{
	return tsim_state_int(arg, "faults.0.fired") >= 1;
}

START_TEST(test_restart_mid_call)
{
	struct temporal *t;
	struct rec r = { 0 };
	char *cause = NULL;
	int port;

	sim = tsim_start(strict_args, 0);
	port = sim->grpc;
	t = client(8000, 6, NULL);
	fault("{\"method\":\"CountWorkflowExecutions\",\"delayMs\":20000,"
	    "\"count\":2}");
	ck_assert_int_eq(temporal_count_workflows(t, "", rec_count_cb, &r,
	    &cause), 0);
	ck_assert(proc_wait_until(fault_fired, sim, 10000));
	ck_assert(!r.done);
	tsim_kill(sim);
	sim = tsim_start(strict_args, port);
	rec_wait(base, &r);
	ck_assert_msg(r.code == 0, "%s", r.msg);
	ck_assert_int_eq(r.count, 0);
	rec_reset(&r);
	ck_assert_int_eq(tsim_state_int(sim,
	    "counters.requests.CountWorkflowExecutions"), 1);
	temporal_free(t);
}
END_TEST

START_TEST(test_shutdown_cancels)
{
	struct temporal *t;
	struct rec r[12];
	char *cause = NULL;
	long long t0;

	memset(r, 0, sizeof r);
	t = client(30000, 3, NULL);
	fault("{\"method\":\"*\",\"delayMs\":20000,\"count\":100}");
	for (int i = 0; i < 10; i++)
		ck_assert_int_eq(temporal_count_workflows(t, "", rec_count_cb,
		    &r[i], &cause), 0);
	/* Waiting for the server version, then cancelled. */
	ck_assert_int_eq(temporal_describe_deployment(t, DEP, rec_deployment_cb,
	    &r[10], &cause), 0);
	ck_assert_int_eq(temporal_count_workflows(t, "", rec_count_cb, &r[11],
	    &cause), 0);
	ck_assert_uint_eq(temporal_pending(t), 12);
	ck_assert(proc_wait_until(fault_fired, sim, 10000));
	t0 = proc_now_ms();
	temporal_free(t);
	ck_assert_int_lt(proc_now_ms() - t0, 3000);
	for (int i = 0; i < 12; i++) {
		ck_assert(r[i].done);
		ck_assert_int_eq(r[i].calls, 1);
		ck_assert_int_eq(r[i].code, TEMPORAL_CANCELLED);
		ck_assert(r[i].local);
		rec_reset(&r[i]);
	}
	ck_assert_int_eq(tsim_admin(sim, "DELETE", "/faults", NULL, NULL), 200);
}
END_TEST

/* Start a call from a callback, to check callbacks may issue calls. */
static struct temporal *chain_client;
static struct rec chain_second;

static void
chain_cb(const struct temporal_error *e, int64_t n, void *arg)
{
	char *cause = NULL;

	rec_count_cb(e, n, arg);
	ck_assert_int_eq(temporal_get_system_info(chain_client,
	    rec_system_info_cb, &chain_second, &cause), 0);
}

START_TEST(test_call_from_callback)
{
	struct rec r = { 0 };
	char *cause = NULL;

	chain_client = client(5000, 3, NULL);
	memset(&chain_second, 0, sizeof chain_second);
	ck_assert_int_eq(temporal_count_workflows(chain_client, "", chain_cb,
	    &r, &cause), 0);
	rec_wait(base, &r);
	rec_wait(base, &chain_second);
	ck_assert_int_eq(chain_second.code, 0);
	rec_reset(&r);
	rec_reset(&chain_second);
	temporal_free(chain_client);
}
END_TEST

START_TEST(test_api_key)
{
	static const char *const args[] = { "--api-key", "s3cret-key",
	    "--require-namespace-header", "--log-level", "warn", NULL };
	struct temporal_config cfg = { 0 };
	struct temporal *t;
	struct rec r = { 0 };
	char *dir, *path, *cause = NULL;

	sim = tsim_start(args, 0);
	dir = test_tmpdir();
	path = test_write(dir, "api-key", "s3cret-key\n");
	t = client(5000, 2, path);
	ck_assert_int_eq(temporal_count_workflows(t, "", rec_count_cb, &r,
	    &cause), 0);
	rec_wait(base, &r);
	ck_assert_msg(r.code == 0, "%s", r.msg);
	rec_reset(&r);

	/* A rotated (wrong) key is picked up at the next call. */
	free(test_write(dir, "api-key", "other-key"));
	ck_assert_int_eq(temporal_count_workflows(t, "", rec_count_cb, &r,
	    &cause), 0);
	rec_wait(base, &r);
	ck_assert_int_eq(r.code, TEMPORAL_UNAUTHENTICATED);
	ck_assert(!r.local);
	rec_reset(&r);
	free(test_write(dir, "api-key", "  s3cret-key  \n"));
	ck_assert_int_eq(temporal_count_workflows(t, "", rec_count_cb, &r,
	    &cause), 0);
	rec_wait(base, &r);
	ck_assert_msg(r.code == 0, "%s", r.msg);
	rec_reset(&r);

	/* The file vanishes: the last good key stays in use. */
	ck_assert_int_eq(unlink(path), 0);
	ck_assert_int_eq(temporal_count_workflows(t, "", rec_count_cb, &r,
	    &cause), 0);
	rec_wait(base, &r);
	ck_assert_msg(r.code == 0, "%s", r.msg);
	rec_reset(&r);
	temporal_free(t);

	/* Without a key: UNAUTHENTICATED from the server. */
	t = client(5000, 2, NULL);
	ck_assert_int_eq(temporal_count_workflows(t, "", rec_count_cb, &r,
	    &cause), 0);
	rec_wait(base, &r);
	ck_assert_int_eq(r.code, TEMPORAL_UNAUTHENTICATED);
	rec_reset(&r);
	temporal_free(t);

	/* An unreadable or empty key file is a configuration error. */
	cfg.address = sim->addr;
	cfg.ns = "default";
	cfg.identity = IDENT;
	cfg.api_key_file = path;
	ck_assert_ptr_null(temporal_new(base, &cfg, &cause));
	ck_assert_msg(strstr(cause, path) != NULL, "%s", cause);
	free(cause);
	cause = NULL;
	free(test_write(dir, "api-key", "\n"));
	ck_assert_ptr_null(temporal_new(base, &cfg, &cause));
	ck_assert_msg(strstr(cause, "empty") != NULL, "%s", cause);
	free(cause);
	free(path);
	test_rmdir(dir);
	free(dir);
}
END_TEST

START_TEST(test_old_servers)
{
	static const char *const v127[] = { "--server-version", "1.27.0",
	    "--log-level", "warn", NULL };
	static const char *const v128[] = { "--server-version", "1.28.1",
	    "--log-level", "warn", NULL };
	struct temporal *t;
	struct rec r = { 0 };
	char *cause = NULL;

	sim = tsim_start(v127, 0);
	t = client(5000, 2, NULL);
	ck_assert_int_eq(temporal_describe_deployment(t, DEP, rec_deployment_cb,
	    &r, &cause), 0);
	rec_wait(base, &r);
	ck_assert_int_eq(r.code, TEMPORAL_UNIMPLEMENTED);
	ck_assert(r.local);
	ck_assert_msg(strstr(r.msg, "1.27.0") != NULL &&
	    strstr(r.msg, "1.28") != NULL, "%s", r.msg);
	rec_reset(&r);
	/* Calls outside the deployment API still work. */
	ck_assert_int_eq(temporal_count_workflows(t, "", rec_count_cb, &r,
	    &cause), 0);
	rec_wait(base, &r);
	ck_assert_msg(r.code == 0, "%s", r.msg);
	rec_reset(&r);
	temporal_free(t);
	tsim_stop(sim);

	sim = tsim_start(v128, 0);
	tsim_poller(sim, "orders-tq", DEP, "v1");
	t = client(5000, 2, NULL);
	ck_assert_int_eq(temporal_set_manager(t, DEP, NULL, NULL, rec_token_cb,
	    &r, &cause), 0);
	rec_wait(base, &r);
	ck_assert_int_eq(r.code, TEMPORAL_UNIMPLEMENTED);
	ck_assert(r.local);
	ck_assert_msg(strstr(r.msg, "1.29") != NULL, "%s", r.msg);
	rec_reset(&r);
	ck_assert_int_eq(temporal_set_current(t, DEP, "v1", NULL,
	    TEMPORAL_ALLOW_NO_POLLERS, rec_token_cb, &r, &cause), 0);
	rec_wait(base, &r);
	ck_assert_int_eq(r.code, TEMPORAL_UNIMPLEMENTED);
	ck_assert(r.local);
	rec_reset(&r);
	ck_assert_int_eq(temporal_set_current(t, DEP, "v1", NULL, 0,
	    rec_token_cb, &r, &cause), 0);
	rec_wait(base, &r);
	ck_assert_msg(r.code == 0, "%s", r.msg);
	rec_reset(&r);
	temporal_free(t);
}
END_TEST

START_TEST(test_unreachable)
{
	struct temporal_config cfg = {
		.address = "127.0.0.1:1", .ns = "default", .identity = IDENT,
		.timeout_ms = 2000, .retry = { 10, 50, 2 },
	};
	struct temporal *t;
	struct rec r = { 0 };
	char *cause = NULL;

	t = temporal_new(base, &cfg, &cause);
	ck_assert_ptr_nonnull(t);
	ck_assert_int_eq(temporal_count_workflows(t, "", rec_count_cb, &r,
	    &cause), 0);
	rec_wait(base, &r);
	ck_assert_int_eq(r.code, TEMPORAL_UNAVAILABLE);
	ck_assert_uint_eq(r.attempts, 2);
	rec_reset(&r);
	temporal_free(t);
}
END_TEST

/* Arguments the client refuses before sending anything. */
START_TEST(test_bad_arguments)
{
	struct temporal_config cfg = {
		.address = "127.0.0.1:1", .ns = "default", .identity = IDENT,
	};
	struct temporal_start_params p = {
		.workflow_id = "w", .workflow_type = "T", .task_queue = "q",
		.deployment_name = DEP, .build_id = "v1",
	};
	struct temporal_token big = { .len = TEMPORAL_TOKEN_MAX + 1 };
	struct temporal *t;
	struct rec r = { 0 };
	char *cause = NULL;

#define REFUSED(call, text) do {					\
	cause = NULL;							\
	ck_assert_int_eq((call), -1);					\
	ck_assert_msg(cause != NULL && strstr(cause, text) != NULL,	\
	    "%s: %s", #call, cause);					\
	free(cause);							\
} while (0)
	t = temporal_new(base, &cfg, &cause);
	ck_assert_ptr_nonnull(t);
	REFUSED(temporal_describe_deployment(t, "", rec_deployment_cb, &r,
	    &cause), "deployment name is empty");
	REFUSED(temporal_describe_deployment(t, "a.b", rec_deployment_cb, &r,
	    &cause), "'.' or ':'");
	REFUSED(temporal_describe_deployment(t, "bad\xff", rec_deployment_cb,
	    &r, &cause), "UTF-8");
	REFUSED(temporal_describe_deployment(t, DEP, NULL, &r, &cause),
	    "callback");
	REFUSED(temporal_set_ramping(t, DEP, "v1", NAN, NULL, 0, rec_token_cb,
	    &r, &cause), "0..100");
	REFUSED(temporal_set_ramping(t, DEP, "v1", 100.5f, NULL, 0,
	    rec_token_cb, &r, &cause), "0..100");
	REFUSED(temporal_set_ramping(t, DEP, "v1", -1, NULL, 0, rec_token_cb,
	    &r, &cause), "0..100");
	REFUSED(temporal_set_current(t, DEP, "v1", &big, 0, rec_token_cb, &r,
	    &cause), "token");
	REFUSED(temporal_set_current(t, DEP, "v1", NULL, 0x10, rec_token_cb,
	    &r, &cause), "flags");
	REFUSED(temporal_describe_version(t, DEP, "", rec_version_cb, &r,
	    &cause), "build ID is empty");
	REFUSED(temporal_delete_version(t, DEP, NULL, false, rec_done_cb, &r,
	    &cause), "build ID is empty");
	REFUSED(temporal_describe_task_queue(t, "q", 7, rec_task_queue_cb, &r,
	    &cause), "task queue type");
	p.input_json = "{\"a\":";
	REFUSED(temporal_start_workflow(t, &p, rec_started_cb, &r, &cause),
	    "not JSON");
	p.input_json = NULL;
	p.build_id = NULL;
	REFUSED(temporal_start_workflow(t, &p, rec_started_cb, &r, &cause),
	    "build ID is empty");
	p.build_id = "v1";
	p.execution_timeout_ms = -5;
	REFUSED(temporal_start_workflow(t, &p, rec_started_cb, &r, &cause),
	    "negative");
	ck_assert_uint_eq(temporal_pending(t), 0);
	temporal_free(t);
	ck_assert(!r.done);

	/* Configuration errors. */
	cfg.address = "";
	REFUSED(temporal_new(base, &cfg, &cause) == NULL ? -1 : 0, "address");
	cfg.address = "127.0.0.1:1";
	cfg.ns = "";
	REFUSED(temporal_new(base, &cfg, &cause) == NULL ? -1 : 0, "namespace");
	cfg.ns = "default";
	cfg.cert_file = "/nonexistent/cert.pem";
	REFUSED(temporal_new(base, &cfg, &cause) == NULL ? -1 : 0, "together");
	cfg.key_file = "/nonexistent/key.pem";
	REFUSED(temporal_new(base, &cfg, &cause) == NULL ? -1 : 0,
	    "/nonexistent/cert.pem");
	cfg.cert_file = cfg.key_file = NULL;
	cfg.ca_file = "/nonexistent/ca.pem";
	REFUSED(temporal_new(base, &cfg, &cause) == NULL ? -1 : 0,
	    "/nonexistent/ca.pem");
#undef REFUSED
}
END_TEST

static Suite *
temporal_suite(void)
{
	Suite *s = suite_create("temporal");
	TCase *tc = tcase_create("shared");
	TCase *own = tcase_create("own");

	tcase_add_unchecked_fixture(tc, shared_start, shared_stop);
	tcase_add_checked_fixture(tc, setup_shared, teardown_shared);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_system_info);
	tcase_add_test(tc, test_deployment_rollout);
	tcase_add_test(tc, test_task_queue_and_gate);
	tcase_add_loop_test(tc, test_server_errors, 0, N_CASES(server_errors));
	tcase_add_loop_test(tc, test_injected_codes, 0, N_CASES(injected));
	tcase_add_test(tc, test_retry_then_success);
	tcase_add_test(tc, test_deadline);
	tcase_add_test(tc, test_shutdown_cancels);
	tcase_add_test(tc, test_call_from_callback);
	suite_add_tcase(s, tc);

	tcase_add_checked_fixture(own, setup, teardown);
	tcase_set_timeout(own, 60);
	tcase_add_test(own, test_permission_denied);
	tcase_add_test(own, test_restart_mid_call);
	tcase_add_test(own, test_api_key);
	tcase_add_test(own, test_old_servers);
	tcase_add_test(own, test_unreachable);
	tcase_add_test(own, test_bad_arguments);
	suite_add_tcase(s, own);
	return s;
}

CHECK_MAIN(temporal_suite)
