/*
 * temporal_rpc: the typed calls of temporal.h. Each builds its request
 * with structured fields only (servers 1.28+) and reports its response,
 * decoded by temporal_decode, to its typed callback.
 */
#include "config.h"

#include <sys/random.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "temporal_workflowservice.pb-c.h"

#include "temporal.h"
#include "temporal_decode.h"
#include "temporal_rpc.h"
#include "xalloc.h"

#define NEED_DEPLOYMENTS	28	/* structured Worker Deployment API */
#define NEED_MANAGER		29	/* SetWorkerDeploymentManager, allow_no_pollers */
#define INPUT_JSON_MAX		(256 * 1024)

typedef Temporal__Api__Deployment__V1__WorkerDeploymentVersion PbVersion;

/* A decode failure as a local INTERNAL error; err points into *e. */
static const struct temporal_error *
rpc_decode_error(struct temporal_error *e, const char *rpc, char *cause,
    char **msg)
{
	memset(e, 0, sizeof *e);
	e->code = TEMPORAL_INTERNAL;
	e->local = true;
	e->attempts = 1;
	*msg = xasprintf("cannot decode the %s response: %s", rpc, cause);
	e->message = *msg;
	free(cause);
	return e;
}

/* Report DescribeWorkerDeployment. */
static void
finish_deployment(struct temporal *t, void (*cb)(void), void *arg,
    const struct temporal_error *err, const uint8_t *data, size_t len)
{
	struct temporal_deployment *d = NULL;
	struct temporal_error e;
	char *cause = NULL, *msg = NULL;

	(void)t;
	if (err == NULL && temporal_decode_deployment(data, len, &d, &cause) != 0)
		err = rpc_decode_error(&e, "DescribeWorkerDeployment", cause, &msg);
	((temporal_deployment_cb)cb)(err, err == NULL ? d : NULL, arg);
	free(msg);
}

/* Report a Set* response carrying a conflict token. */
static void
finish_token(const char *rpc,
    int (*decode)(const uint8_t *, size_t, struct temporal_token *, char **),
    void (*cb)(void), void *arg, const struct temporal_error *err,
    const uint8_t *data, size_t len)
{
	struct temporal_token tok;
	struct temporal_error e;
	char *cause = NULL, *msg = NULL;

	if (err == NULL && decode(data, len, &tok, &cause) != 0)
		err = rpc_decode_error(&e, rpc, cause, &msg);
	((temporal_token_cb)cb)(err, err == NULL ? &tok : NULL, arg);
	free(msg);
}

/* Report SetWorkerDeploymentCurrentVersion. */
static void
finish_set_current(struct temporal *t, void (*cb)(void), void *arg,
    const struct temporal_error *err, const uint8_t *data, size_t len)
{
	(void)t;
	finish_token("SetWorkerDeploymentCurrentVersion",
	    temporal_decode_set_current, cb, arg, err, data, len);
}

/* Report SetWorkerDeploymentRampingVersion. */
static void
finish_set_ramping(struct temporal *t, void (*cb)(void), void *arg,
    const struct temporal_error *err, const uint8_t *data, size_t len)
{
	(void)t;
	finish_token("SetWorkerDeploymentRampingVersion",
	    temporal_decode_set_ramping, cb, arg, err, data, len);
}

/* Report SetWorkerDeploymentManager. */
static void
finish_set_manager(struct temporal *t, void (*cb)(void), void *arg,
    const struct temporal_error *err, const uint8_t *data, size_t len)
{
	(void)t;
	finish_token("SetWorkerDeploymentManager",
	    temporal_decode_set_manager, cb, arg, err, data, len);
}

/* Report DescribeWorkerDeploymentVersion. */
static void
finish_version(struct temporal *t, void (*cb)(void), void *arg,
    const struct temporal_error *err, const uint8_t *data, size_t len)
{
	struct temporal_version_info *v = NULL;
	struct temporal_error e;
	char *cause = NULL, *msg = NULL;

	(void)t;
	if (err == NULL &&
	    temporal_decode_version_info(data, len, &v, &cause) != 0)
		err = rpc_decode_error(&e, "DescribeWorkerDeploymentVersion",
		    cause, &msg);
	((temporal_version_cb)cb)(err, err == NULL ? v : NULL, arg);
	free(msg);
}

/* Report DeleteWorkerDeploymentVersion. */
static void
finish_delete(struct temporal *t, void (*cb)(void), void *arg,
    const struct temporal_error *err, const uint8_t *data, size_t len)
{
	struct temporal_error e;
	char *cause = NULL, *msg = NULL;

	(void)t;
	if (err == NULL && temporal_decode_delete_version(data, len, &cause) != 0)
		err = rpc_decode_error(&e, "DeleteWorkerDeploymentVersion",
		    cause, &msg);
	((temporal_done_cb)cb)(err, arg);
	free(msg);
}

/* Report DescribeTaskQueue. */
static void
finish_task_queue(struct temporal *t, void (*cb)(void), void *arg,
    const struct temporal_error *err, const uint8_t *data, size_t len)
{
	struct temporal_task_queue_info *q = NULL;
	struct temporal_error e;
	char *cause = NULL, *msg = NULL;

	(void)t;
	if (err == NULL && temporal_decode_task_queue(data, len, &q, &cause) != 0)
		err = rpc_decode_error(&e, "DescribeTaskQueue", cause, &msg);
	((temporal_task_queue_cb)cb)(err, err == NULL ? q : NULL, arg);
	free(msg);
}

/* Report StartWorkflowExecution. */
static void
finish_started(struct temporal *t, void (*cb)(void), void *arg,
    const struct temporal_error *err, const uint8_t *data, size_t len)
{
	struct temporal_started *s = NULL;
	struct temporal_error e;
	char *cause = NULL, *msg = NULL;

	(void)t;
	if (err == NULL && temporal_decode_started(data, len, &s, &cause) != 0)
		err = rpc_decode_error(&e, "StartWorkflowExecution", cause, &msg);
	((temporal_started_cb)cb)(err, err == NULL ? s : NULL, arg);
	free(msg);
}

/* Report DescribeWorkflowExecution. */
static void
finish_workflow(struct temporal *t, void (*cb)(void), void *arg,
    const struct temporal_error *err, const uint8_t *data, size_t len)
{
	struct temporal_workflow *w = NULL;
	struct temporal_error e;
	char *cause = NULL, *msg = NULL;

	(void)t;
	if (err == NULL && temporal_decode_workflow(data, len, &w, &cause) != 0)
		err = rpc_decode_error(&e, "DescribeWorkflowExecution", cause,
		    &msg);
	((temporal_workflow_cb)cb)(err, err == NULL ? w : NULL, arg);
	free(msg);
}

/* Report CountWorkflowExecutions. */
static void
finish_count(struct temporal *t, void (*cb)(void), void *arg,
    const struct temporal_error *err, const uint8_t *data, size_t len)
{
	struct temporal_error e;
	char *cause = NULL, *msg = NULL;
	int64_t n = 0;

	(void)t;
	if (err == NULL && temporal_decode_count(data, len, &n, &cause) != 0)
		err = rpc_decode_error(&e, "CountWorkflowExecutions", cause, &msg);
	((temporal_count_cb)cb)(err, err == NULL ? n : 0, arg);
	free(msg);
}

/* Report GetSystemInfo, and learn the server version from it. */
static void
finish_system_info(struct temporal *t, void (*cb)(void), void *arg,
    const struct temporal_error *err, const uint8_t *data, size_t len)
{
	struct temporal_system_info *s = NULL;
	struct temporal_error e;
	char *cause = NULL, *msg = NULL;

	if (err == NULL &&
	    temporal_decode_system_info(data, len, &s, &cause) != 0)
		err = rpc_decode_error(&e, "GetSystemInfo", cause, &msg);
	if (err == NULL)
		temporal_learn(t, s);
	((temporal_system_info_cb)cb)(err, err == NULL ? s : NULL, arg);
	free(msg);
}

static const struct rpc rpc_describe_deployment = {
	"DescribeWorkerDeployment", true, NEED_DEPLOYMENTS, finish_deployment };
static const struct rpc rpc_set_current = {
	"SetWorkerDeploymentCurrentVersion", true, NEED_DEPLOYMENTS,
	finish_set_current };
static const struct rpc rpc_set_ramping = {
	"SetWorkerDeploymentRampingVersion", true, NEED_DEPLOYMENTS,
	finish_set_ramping };
static const struct rpc rpc_describe_version = {
	"DescribeWorkerDeploymentVersion", true, NEED_DEPLOYMENTS,
	finish_version };
static const struct rpc rpc_delete_version = {
	"DeleteWorkerDeploymentVersion", true, NEED_DEPLOYMENTS, finish_delete };
static const struct rpc rpc_set_manager = {
	"SetWorkerDeploymentManager", true, NEED_MANAGER, finish_set_manager };
static const struct rpc rpc_describe_task_queue = {
	"DescribeTaskQueue", true, 0, finish_task_queue };
static const struct rpc rpc_start_workflow = {
	"StartWorkflowExecution", true, NEED_DEPLOYMENTS, finish_started };
static const struct rpc rpc_describe_workflow = {
	"DescribeWorkflowExecution", true, 0, finish_workflow };
static const struct rpc rpc_count_workflows = {
	"CountWorkflowExecutions", true, 0, finish_count };
static const struct rpc rpc_get_system_info = {
	"GetSystemInfo", false, 0, finish_system_info };

/* Check a deployment name: non-empty, bounded, UTF-8, no '.' or ':'. */
static int
rpc_check_deployment(const char *deployment, char **cause)
{
	if (temporal_check_arg("deployment name", deployment, true, cause) != 0)
		return -1;
	if (strpbrk(deployment, ".:") != NULL) {
		*cause = xasprintf("deployment name \"%s\" contains '.' or ':' "
		    "(Temporal does not allow them)", deployment);
		return -1;
	}
	return 0;
}

/* Check a conflict token argument. */
static int
rpc_check_token(const struct temporal_token *token, char **cause)
{
	if (token != NULL && token->len > TEMPORAL_TOKEN_MAX) {
		*cause = xasprintf("conflict token length %zu exceeds %d",
		    token->len, TEMPORAL_TOKEN_MAX);
		return -1;
	}
	return 0;
}

/* Check set flags. */
static int
rpc_check_flags(int flags, char **cause)
{
	if ((flags & ~(TEMPORAL_IGNORE_MISSING_TASK_QUEUES |
	    TEMPORAL_ALLOW_NO_POLLERS)) != 0) {
		*cause = xasprintf("unknown flags 0x%x", (unsigned)flags);
		return -1;
	}
	return 0;
}

/* DescribeWorkerDeployment. */
int
temporal_describe_deployment(struct temporal *t, const char *deployment,
    temporal_deployment_cb cb, void *arg, char **cause)
{
	Temporal__Api__Workflowservice__V1__DescribeWorkerDeploymentRequest m =
	    TEMPORAL__API__WORKFLOWSERVICE__V1__DESCRIBE_WORKER_DEPLOYMENT_REQUEST__INIT;

	if (rpc_check_deployment(deployment, cause) != 0)
		return -1;
	m.namespace_ = (char *)temporal_namespace(t);
	m.deployment_name = (char *)deployment;
	return temporal_start(t, &rpc_describe_deployment, &m.base, 0,
	    (void (*)(void))cb, arg, cause);
}

/* SetWorkerDeploymentCurrentVersion. */
int
temporal_set_current(struct temporal *t, const char *deployment,
    const char *build_id, const struct temporal_token *token, int flags,
    temporal_token_cb cb, void *arg, char **cause)
{
	Temporal__Api__Workflowservice__V1__SetWorkerDeploymentCurrentVersionRequest m =
	    TEMPORAL__API__WORKFLOWSERVICE__V1__SET_WORKER_DEPLOYMENT_CURRENT_VERSION_REQUEST__INIT;

	if (rpc_check_deployment(deployment, cause) != 0 ||
	    temporal_check_arg("build ID", build_id, false, cause) != 0 ||
	    rpc_check_token(token, cause) != 0 ||
	    rpc_check_flags(flags, cause) != 0)
		return -1;
	m.namespace_ = (char *)temporal_namespace(t);
	m.deployment_name = (char *)deployment;
	m.build_id = (char *)(build_id != NULL ? build_id : "");
	if (token != NULL) {
		m.conflict_token.data = (uint8_t *)token->data;
		m.conflict_token.len = token->len;
	}
	m.identity = (char *)temporal_identity(t);
	m.ignore_missing_task_queues =
	    (flags & TEMPORAL_IGNORE_MISSING_TASK_QUEUES) != 0;
	m.allow_no_pollers = (flags & TEMPORAL_ALLOW_NO_POLLERS) != 0;
	return temporal_start(t, &rpc_set_current, &m.base,
	    m.allow_no_pollers ? NEED_MANAGER : 0, (void (*)(void))cb, arg,
	    cause);
}

/* SetWorkerDeploymentRampingVersion. */
int
temporal_set_ramping(struct temporal *t, const char *deployment,
    const char *build_id, float percentage, const struct temporal_token *token,
    int flags, temporal_token_cb cb, void *arg, char **cause)
{
	Temporal__Api__Workflowservice__V1__SetWorkerDeploymentRampingVersionRequest m =
	    TEMPORAL__API__WORKFLOWSERVICE__V1__SET_WORKER_DEPLOYMENT_RAMPING_VERSION_REQUEST__INIT;

	if (rpc_check_deployment(deployment, cause) != 0 ||
	    temporal_check_arg("build ID", build_id, false, cause) != 0 ||
	    rpc_check_token(token, cause) != 0 ||
	    rpc_check_flags(flags, cause) != 0)
		return -1;
	if (isnan(percentage) || percentage < 0 || percentage > 100) {
		*cause = xasprintf("ramp percentage %g is not in 0..100",
		    (double)percentage);
		return -1;
	}
	m.namespace_ = (char *)temporal_namespace(t);
	m.deployment_name = (char *)deployment;
	m.build_id = (char *)(build_id != NULL ? build_id : "");
	m.percentage = percentage;
	if (token != NULL) {
		m.conflict_token.data = (uint8_t *)token->data;
		m.conflict_token.len = token->len;
	}
	m.identity = (char *)temporal_identity(t);
	m.ignore_missing_task_queues =
	    (flags & TEMPORAL_IGNORE_MISSING_TASK_QUEUES) != 0;
	m.allow_no_pollers = (flags & TEMPORAL_ALLOW_NO_POLLERS) != 0;
	return temporal_start(t, &rpc_set_ramping, &m.base,
	    m.allow_no_pollers ? NEED_MANAGER : 0, (void (*)(void))cb, arg,
	    cause);
}

/* DescribeWorkerDeploymentVersion. */
int
temporal_describe_version(struct temporal *t, const char *deployment,
    const char *build_id, temporal_version_cb cb, void *arg, char **cause)
{
	Temporal__Api__Workflowservice__V1__DescribeWorkerDeploymentVersionRequest m =
	    TEMPORAL__API__WORKFLOWSERVICE__V1__DESCRIBE_WORKER_DEPLOYMENT_VERSION_REQUEST__INIT;
	PbVersion v = TEMPORAL__API__DEPLOYMENT__V1__WORKER_DEPLOYMENT_VERSION__INIT;

	if (rpc_check_deployment(deployment, cause) != 0 ||
	    temporal_check_arg("build ID", build_id, true, cause) != 0)
		return -1;
	v.deployment_name = (char *)deployment;
	v.build_id = (char *)build_id;
	m.namespace_ = (char *)temporal_namespace(t);
	m.deployment_version = &v;
	return temporal_start(t, &rpc_describe_version, &m.base, 0,
	    (void (*)(void))cb, arg, cause);
}

/* DeleteWorkerDeploymentVersion. */
int
temporal_delete_version(struct temporal *t, const char *deployment,
    const char *build_id, bool skip_drainage, temporal_done_cb cb, void *arg,
    char **cause)
{
	Temporal__Api__Workflowservice__V1__DeleteWorkerDeploymentVersionRequest m =
	    TEMPORAL__API__WORKFLOWSERVICE__V1__DELETE_WORKER_DEPLOYMENT_VERSION_REQUEST__INIT;
	PbVersion v = TEMPORAL__API__DEPLOYMENT__V1__WORKER_DEPLOYMENT_VERSION__INIT;

	if (rpc_check_deployment(deployment, cause) != 0 ||
	    temporal_check_arg("build ID", build_id, true, cause) != 0)
		return -1;
	v.deployment_name = (char *)deployment;
	v.build_id = (char *)build_id;
	m.namespace_ = (char *)temporal_namespace(t);
	m.deployment_version = &v;
	m.skip_drainage = skip_drainage;
	m.identity = (char *)temporal_identity(t);
	return temporal_start(t, &rpc_delete_version, &m.base, 0,
	    (void (*)(void))cb, arg, cause);
}

/* SetWorkerDeploymentManager. */
int
temporal_set_manager(struct temporal *t, const char *deployment,
    const char *manager, const struct temporal_token *token,
    temporal_token_cb cb, void *arg, char **cause)
{
	Temporal__Api__Workflowservice__V1__SetWorkerDeploymentManagerRequest m =
	    TEMPORAL__API__WORKFLOWSERVICE__V1__SET_WORKER_DEPLOYMENT_MANAGER_REQUEST__INIT;

	if (rpc_check_deployment(deployment, cause) != 0 ||
	    temporal_check_arg("manager identity", manager, false, cause) != 0 ||
	    rpc_check_token(token, cause) != 0)
		return -1;
	m.namespace_ = (char *)temporal_namespace(t);
	m.deployment_name = (char *)deployment;
	if (manager == NULL) {
		m.new_manager_identity_case =
		    TEMPORAL__API__WORKFLOWSERVICE__V1__SET_WORKER_DEPLOYMENT_MANAGER_REQUEST__NEW_MANAGER_IDENTITY_SELF;
		m.self = true;
	} else {
		/* Set even when "": a oneof member is sent at its zero value. */
		m.new_manager_identity_case =
		    TEMPORAL__API__WORKFLOWSERVICE__V1__SET_WORKER_DEPLOYMENT_MANAGER_REQUEST__NEW_MANAGER_IDENTITY_MANAGER_IDENTITY;
		m.manager_identity = (char *)manager;
	}
	if (token != NULL) {
		m.conflict_token.data = (uint8_t *)token->data;
		m.conflict_token.len = token->len;
	}
	m.identity = (char *)temporal_identity(t);
	return temporal_start(t, &rpc_set_manager, &m.base, 0,
	    (void (*)(void))cb, arg, cause);
}

/* DescribeTaskQueue. */
int
temporal_describe_task_queue(struct temporal *t, const char *task_queue,
    int type, temporal_task_queue_cb cb, void *arg, char **cause)
{
	Temporal__Api__Workflowservice__V1__DescribeTaskQueueRequest m =
	    TEMPORAL__API__WORKFLOWSERVICE__V1__DESCRIBE_TASK_QUEUE_REQUEST__INIT;
	Temporal__Api__Taskqueue__V1__TaskQueue tq =
	    TEMPORAL__API__TASKQUEUE__V1__TASK_QUEUE__INIT;

	if (temporal_check_arg("task queue", task_queue, true, cause) != 0)
		return -1;
	if (type < TEMPORAL_TQ_UNSPECIFIED || type > TEMPORAL_TQ_NEXUS) {
		*cause = xasprintf("task queue type %d is not workflow (1), "
		    "activity (2) or nexus (3)", type);
		return -1;
	}
	tq.name = (char *)task_queue;
	tq.kind = TEMPORAL__API__ENUMS__V1__TASK_QUEUE_KIND__TASK_QUEUE_KIND_NORMAL;
	m.namespace_ = (char *)temporal_namespace(t);
	m.task_queue = &tq;
	m.task_queue_type = (Temporal__Api__Enums__V1__TaskQueueType)(type == 0 ?
	    TEMPORAL_TQ_WORKFLOW : type);
	return temporal_start(t, &rpc_describe_task_queue, &m.base, 0,
	    (void (*)(void))cb, arg, cause);
}

/* A random (version 4) UUID in out. */
static void
rpc_uuid(char out[37])
{
	uint8_t b[16];
	uint64_t x;

	if (getrandom(b, sizeof b, 0) != sizeof b) {
		x = (uint64_t)time(NULL) ^ ((uint64_t)getpid() << 20) ^
		    (uint64_t)(uintptr_t)out;
		for (size_t i = 0; i < sizeof b; i++) {
			x = x * 6364136223846793005ULL + 1442695040888963407ULL;
			b[i] = (uint8_t)(x >> 56);
		}
	}
	b[6] = (b[6] & 0x0f) | 0x40;
	b[8] = (b[8] & 0x3f) | 0x80;
	snprintf(out, 37, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-"
	    "%02x%02x%02x%02x%02x%02x", b[0], b[1], b[2], b[3], b[4], b[5],
	    b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13], b[14], b[15]);
}

/* StartWorkflowExecution of a workflow pinned to one version. */
int
temporal_start_workflow(struct temporal *t,
    const struct temporal_start_params *p, temporal_started_cb cb, void *arg,
    char **cause)
{
	Temporal__Api__Workflowservice__V1__StartWorkflowExecutionRequest m =
	    TEMPORAL__API__WORKFLOWSERVICE__V1__START_WORKFLOW_EXECUTION_REQUEST__INIT;
	Temporal__Api__Common__V1__WorkflowType wt =
	    TEMPORAL__API__COMMON__V1__WORKFLOW_TYPE__INIT;
	Temporal__Api__Taskqueue__V1__TaskQueue tq =
	    TEMPORAL__API__TASKQUEUE__V1__TASK_QUEUE__INIT;
	Temporal__Api__Common__V1__Payloads input =
	    TEMPORAL__API__COMMON__V1__PAYLOADS__INIT;
	Temporal__Api__Common__V1__Payload payload =
	    TEMPORAL__API__COMMON__V1__PAYLOAD__INIT;
	Temporal__Api__Common__V1__Payload__MetadataEntry enc =
	    TEMPORAL__API__COMMON__V1__PAYLOAD__METADATA_ENTRY__INIT;
	Temporal__Api__Common__V1__Payload__MetadataEntry *encp = &enc;
	Temporal__Api__Common__V1__Payload *payloadp = &payload;
	Temporal__Api__Workflow__V1__VersioningOverride ov =
	    TEMPORAL__API__WORKFLOW__V1__VERSIONING_OVERRIDE__INIT;
	Temporal__Api__Workflow__V1__VersioningOverride__PinnedOverride pin =
	    TEMPORAL__API__WORKFLOW__V1__VERSIONING_OVERRIDE__PINNED_OVERRIDE__INIT;
	PbVersion v = TEMPORAL__API__DEPLOYMENT__V1__WORKER_DEPLOYMENT_VERSION__INIT;
	Google__Protobuf__Duration timeout = GOOGLE__PROTOBUF__DURATION__INIT;
	json_error_t jerr;
	json_t *j;
	char uuid[37];

	if (temporal_check_arg("workflow ID", p->workflow_id, true, cause) != 0 ||
	    temporal_check_arg("workflow type", p->workflow_type, true,
	    cause) != 0 ||
	    temporal_check_arg("task queue", p->task_queue, true, cause) != 0 ||
	    temporal_check_arg("request ID", p->request_id, false, cause) != 0 ||
	    rpc_check_deployment(p->deployment_name, cause) != 0 ||
	    temporal_check_arg("build ID", p->build_id, true, cause) != 0)
		return -1;
	if (p->execution_timeout_ms < 0) {
		*cause = xasprintf("workflow execution timeout %lld ms is "
		    "negative", (long long)p->execution_timeout_ms);
		return -1;
	}
	if (p->id_reuse_policy < 0 || p->id_reuse_policy > 4 ||
	    p->id_conflict_policy < 0 || p->id_conflict_policy > 3) {
		*cause = xasprintf("workflow ID reuse policy %d or conflict "
		    "policy %d out of range", p->id_reuse_policy,
		    p->id_conflict_policy);
		return -1;
	}
	if (p->input_json != NULL) {
		if (strlen(p->input_json) > INPUT_JSON_MAX) {
			*cause = xasprintf("workflow input is longer than %d "
			    "bytes", INPUT_JSON_MAX);
			return -1;
		}
		j = json_loads(p->input_json, JSON_DECODE_ANY, &jerr);
		if (j == NULL) {
			*cause = xasprintf("workflow input is not JSON: %s "
			    "(line %d, column %d)", jerr.text, jerr.line,
			    jerr.column);
			return -1;
		}
		json_decref(j);
	}

	m.namespace_ = (char *)temporal_namespace(t);
	m.workflow_id = (char *)p->workflow_id;
	wt.name = (char *)p->workflow_type;
	m.workflow_type = &wt;
	tq.name = (char *)p->task_queue;
	tq.kind = TEMPORAL__API__ENUMS__V1__TASK_QUEUE_KIND__TASK_QUEUE_KIND_NORMAL;
	m.task_queue = &tq;
	if (p->input_json != NULL) {
		enc.key = (char *)"encoding";
		enc.value.data = (uint8_t *)"json/plain";
		enc.value.len = strlen("json/plain");
		payload.n_metadata = 1;
		payload.metadata = &encp;
		payload.data.data = (uint8_t *)p->input_json;
		payload.data.len = strlen(p->input_json);
		input.n_payloads = 1;
		input.payloads = &payloadp;
		m.input = &input;
	}
	if (p->execution_timeout_ms > 0) {
		timeout.seconds = p->execution_timeout_ms / 1000;
		timeout.nanos = (int32_t)(p->execution_timeout_ms % 1000) * 1000000;
		m.workflow_execution_timeout = &timeout;
	}
	m.identity = (char *)temporal_identity(t);
	if (p->request_id != NULL && *p->request_id != '\0')
		m.request_id = (char *)p->request_id;
	else {
		rpc_uuid(uuid);
		m.request_id = uuid;	/* encoded once: every retry reuses it */
	}
	m.workflow_id_reuse_policy = p->id_reuse_policy;
	m.workflow_id_conflict_policy = p->id_conflict_policy;
	v.deployment_name = (char *)p->deployment_name;
	v.build_id = (char *)p->build_id;
	pin.behavior =
	    TEMPORAL__API__WORKFLOW__V1__VERSIONING_OVERRIDE__PINNED_OVERRIDE_BEHAVIOR__PINNED_OVERRIDE_BEHAVIOR_PINNED;
	pin.version = &v;
	ov.override_case =
	    TEMPORAL__API__WORKFLOW__V1__VERSIONING_OVERRIDE__OVERRIDE_PINNED;
	ov.pinned = &pin;
	m.versioning_override = &ov;
	return temporal_start(t, &rpc_start_workflow, &m.base, 0,
	    (void (*)(void))cb, arg, cause);
}

/* DescribeWorkflowExecution. */
int
temporal_describe_workflow(struct temporal *t, const char *workflow_id,
    const char *run_id, temporal_workflow_cb cb, void *arg, char **cause)
{
	Temporal__Api__Workflowservice__V1__DescribeWorkflowExecutionRequest m =
	    TEMPORAL__API__WORKFLOWSERVICE__V1__DESCRIBE_WORKFLOW_EXECUTION_REQUEST__INIT;
	Temporal__Api__Common__V1__WorkflowExecution ex =
	    TEMPORAL__API__COMMON__V1__WORKFLOW_EXECUTION__INIT;

	if (temporal_check_arg("workflow ID", workflow_id, true, cause) != 0 ||
	    temporal_check_arg("run ID", run_id, false, cause) != 0)
		return -1;
	ex.workflow_id = (char *)workflow_id;
	ex.run_id = (char *)(run_id != NULL ? run_id : "");
	m.namespace_ = (char *)temporal_namespace(t);
	m.execution = &ex;
	return temporal_start(t, &rpc_describe_workflow, &m.base, 0,
	    (void (*)(void))cb, arg, cause);
}

/* CountWorkflowExecutions. */
int
temporal_count_workflows(struct temporal *t, const char *query,
    temporal_count_cb cb, void *arg, char **cause)
{
	Temporal__Api__Workflowservice__V1__CountWorkflowExecutionsRequest m =
	    TEMPORAL__API__WORKFLOWSERVICE__V1__COUNT_WORKFLOW_EXECUTIONS_REQUEST__INIT;

	if (temporal_check_arg("visibility query", query, false, cause) != 0)
		return -1;
	m.namespace_ = (char *)temporal_namespace(t);
	m.query = (char *)(query != NULL ? query : "");
	return temporal_start(t, &rpc_count_workflows, &m.base, 0,
	    (void (*)(void))cb, arg, cause);
}

/* GetSystemInfo (no namespace, so no temporal-namespace header). */
int
temporal_get_system_info(struct temporal *t, temporal_system_info_cb cb,
    void *arg, char **cause)
{
	Temporal__Api__Workflowservice__V1__GetSystemInfoRequest m =
	    TEMPORAL__API__WORKFLOWSERVICE__V1__GET_SYSTEM_INFO_REQUEST__INIT;

	return temporal_start(t, &rpc_get_system_info, &m.base, 0,
	    (void (*)(void))cb, arg, cause);
}
