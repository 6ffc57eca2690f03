/* temporal_decode: Temporal response messages into plain results. */
#include "config.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "temporal_workflowservice.pb-c.h"

#include "temporal_decode.h"
#include "xalloc.h"

typedef Google__Protobuf__Timestamp PbTime;
typedef Temporal__Api__Deployment__V1__WorkerDeploymentVersion PbVersion;
typedef Temporal__Api__Deployment__V1__VersionDrainageInfo PbDrainage;
typedef Temporal__Api__Deployment__V1__RoutingConfig PbRouting;
typedef Temporal__Api__Deployment__V1__WorkerDeploymentInfo PbDeploymentInfo;
typedef Temporal__Api__Deployment__V1__WorkerDeploymentInfo__WorkerDeploymentVersionSummary PbSummary;
typedef Temporal__Api__Deployment__V1__WorkerDeploymentVersionInfo PbVersionInfo;
typedef Temporal__Api__Workflowservice__V1__DescribeWorkerDeploymentResponse PbDescribeDeploymentResp;
typedef Temporal__Api__Workflowservice__V1__SetWorkerDeploymentCurrentVersionResponse PbSetCurrentResp;
typedef Temporal__Api__Workflowservice__V1__SetWorkerDeploymentRampingVersionResponse PbSetRampingResp;
typedef Temporal__Api__Workflowservice__V1__SetWorkerDeploymentManagerResponse PbSetManagerResp;
typedef Temporal__Api__Workflowservice__V1__DescribeWorkerDeploymentVersionResponse PbDescribeVersionResp;
typedef Temporal__Api__Workflowservice__V1__DeleteWorkerDeploymentVersionResponse PbDeleteVersionResp;
typedef Temporal__Api__Workflowservice__V1__DescribeTaskQueueResponse PbDescribeTaskQueueResp;
typedef Temporal__Api__Workflowservice__V1__StartWorkflowExecutionResponse PbStartResp;
typedef Temporal__Api__Workflowservice__V1__DescribeWorkflowExecutionResponse PbDescribeWorkflowResp;
typedef Temporal__Api__Workflowservice__V1__CountWorkflowExecutionsResponse PbCountResp;
typedef Temporal__Api__Workflowservice__V1__GetSystemInfoResponse PbSystemInfoResp;

/* Unpack a message or fail with a cause naming it. Caller frees with protobuf_c_message_free_unpacked. */
static ProtobufCMessage *
decode_unpack(const ProtobufCMessageDescriptor *d, const uint8_t *buf,
    size_t len, char **cause)
{
	ProtobufCMessage *m;

	m = protobuf_c_message_unpack(d, NULL, len, buf);
	if (m == NULL)
		*cause = xasprintf("malformed %s (%zu bytes)", d->name, len);
	return m;
}

/* Copy a protobuf-c string, "" for NULL. Caller frees. */
static char *
decode_str(const char *s)
{
	return xstrdup(s != NULL ? s : "");
}

/* Microseconds since the epoch of a Timestamp; 0 when absent, clamped. */
static int64_t
decode_time(const PbTime *t)
{
	const int64_t lim = INT64_MAX / 1000000 - 1;
	int64_t s;

	if (t == NULL)
		return 0;
	s = t->seconds;
	if (s > lim)
		return INT64_MAX;
	if (s < -lim)
		return INT64_MIN;
	return s * 1000000 + t->nanos / 1000;
}

/* Fill v from a version message; both strings NULL for a null message. */
static void
decode_version(const PbVersion *pv, struct temporal_version *v)
{
	if (pv == NULL) {
		v->deployment_name = v->build_id = NULL;
		return;
	}
	v->deployment_name = decode_str(pv->deployment_name);
	v->build_id = decode_str(pv->build_id);
}

/* Release the strings of v. */
static void
version_clear(struct temporal_version *v)
{
	free(v->deployment_name);
	free(v->build_id);
	v->deployment_name = v->build_id = NULL;
}

/* Fill d from drainage info, falling back to a bare status. */
static void
decode_drainage(const PbDrainage *pd, int fallback,
    struct temporal_drainage *d)
{
	memset(d, 0, sizeof *d);
	if (pd == NULL) {
		d->status = fallback;
		return;
	}
	d->present = true;
	d->status = pd->status;
	d->changed_us = decode_time(pd->last_changed_time);
	d->checked_us = decode_time(pd->last_checked_time);
}

/* Copy a conflict token, capped. Returns 0, or -1 and a cause. */
static int
decode_token(const ProtobufCBinaryData *b, struct temporal_token *t,
    char **cause)
{
	memset(t, 0, sizeof *t);
	if (b->len > sizeof t->data) {
		*cause = xasprintf("conflict token of %zu bytes is longer than "
		    "the %d accepted", b->len, TEMPORAL_TOKEN_MAX);
		return -1;
	}
	if (b->len > 0)
		memcpy(t->data, b->data, b->len);
	t->len = b->len;
	return 0;
}

/* Fill r from a routing config (absent: everything unversioned, no ramp). */
static void
decode_routing(const PbRouting *pr, struct temporal_routing *r)
{
	memset(r, 0, sizeof *r);
	if (pr == NULL)
		return;
	decode_version(pr->current_deployment_version, &r->current);
	decode_version(pr->ramping_deployment_version, &r->ramping);
	r->ramping_percentage = isnan(pr->ramping_version_percentage) ? 0 :
	    pr->ramping_version_percentage;
	r->ramp = r->ramping.build_id != NULL || r->ramping_percentage > 0;
	r->current_changed_us = decode_time(pr->current_version_changed_time);
	r->ramping_changed_us = decode_time(pr->ramping_version_changed_time);
	r->ramping_percentage_changed_us =
	    decode_time(pr->ramping_version_percentage_changed_time);
	r->revision_number = pr->revision_number;
}

/* Release a deployment result. */
void
temporal_deployment_free(struct temporal_deployment *d)
{
	if (d == NULL)
		return;
	free(d->name);
	version_clear(&d->routing.current);
	version_clear(&d->routing.ramping);
	for (size_t i = 0; i < d->nversions; i++)
		free(d->versions[i].build_id);
	free(d->versions);
	free(d->last_modifier_identity);
	free(d->manager_identity);
	free(d);
}

/* DescribeWorkerDeploymentResponse. */
int
temporal_decode_deployment(const uint8_t *buf, size_t len,
    struct temporal_deployment **out, char **cause)
{
	PbDescribeDeploymentResp *m;
	const PbDeploymentInfo *pi;
	struct temporal_deployment *d;

	m = (PbDescribeDeploymentResp *)decode_unpack(
	    &temporal__api__workflowservice__v1__describe_worker_deployment_response__descriptor,
	    buf, len, cause);
	if (m == NULL)
		return -1;
	d = xcalloc(1, sizeof *d);
	if (decode_token(&m->conflict_token, &d->token, cause) != 0)
		goto fail;
	pi = m->worker_deployment_info;
	if (pi == NULL) {
		*cause = xstrdup("DescribeWorkerDeploymentResponse has no "
		    "worker_deployment_info");
		goto fail;
	}
	d->name = decode_str(pi->name);
	d->create_us = decode_time(pi->create_time);
	decode_routing(pi->routing_config, &d->routing);
	d->last_modifier_identity = decode_str(pi->last_modifier_identity);
	d->manager_identity = decode_str(pi->manager_identity);
	d->routing_update_state = pi->routing_config_update_state;
	if (pi->n_version_summaries > 0)
		d->versions = xcalloc(pi->n_version_summaries, sizeof *d->versions);
	for (size_t i = 0; i < pi->n_version_summaries; i++) {
		const PbSummary *ps = pi->version_summaries[i];
		struct temporal_version_summary *s = &d->versions[d->nversions++];

		s->build_id = decode_str(ps->deployment_version != NULL ?
		    ps->deployment_version->build_id : "");
		s->status = ps->status;
		decode_drainage(ps->drainage_info, ps->drainage_status,
		    &s->drainage);
		s->create_us = decode_time(ps->create_time);
		s->current_since_us = decode_time(ps->current_since_time);
		s->ramping_since_us = decode_time(ps->ramping_since_time);
		s->routing_update_us = decode_time(ps->routing_update_time);
		s->first_activation_us = decode_time(ps->first_activation_time);
		s->last_deactivation_us = decode_time(ps->last_deactivation_time);
		s->last_current_us = decode_time(ps->last_current_time);
	}
	protobuf_c_message_free_unpacked(&m->base, NULL);
	*out = d;
	return 0;

fail:
	protobuf_c_message_free_unpacked(&m->base, NULL);
	temporal_deployment_free(d);
	return -1;
}

/* The conflict token of a Set* response: field 1 of each. */
static int
decode_token_response(const ProtobufCMessageDescriptor *desc,
    const uint8_t *buf, size_t len, struct temporal_token *out, char **cause)
{
	ProtobufCMessage *m;
	const ProtobufCFieldDescriptor *f;
	int rc;

	m = decode_unpack(desc, buf, len, cause);
	if (m == NULL)
		return -1;
	f = protobuf_c_message_descriptor_get_field_by_name(desc,
	    "conflict_token");
	rc = decode_token((const ProtobufCBinaryData *)
	    ((const char *)m + f->offset), out, cause);
	protobuf_c_message_free_unpacked(m, NULL);
	return rc;
}

/* SetWorkerDeploymentCurrentVersionResponse. */
int
temporal_decode_set_current(const uint8_t *buf, size_t len,
    struct temporal_token *out, char **cause)
{
	return decode_token_response(
	    &temporal__api__workflowservice__v1__set_worker_deployment_current_version_response__descriptor,
	    buf, len, out, cause);
}

/* SetWorkerDeploymentRampingVersionResponse. */
int
temporal_decode_set_ramping(const uint8_t *buf, size_t len,
    struct temporal_token *out, char **cause)
{
	return decode_token_response(
	    &temporal__api__workflowservice__v1__set_worker_deployment_ramping_version_response__descriptor,
	    buf, len, out, cause);
}

/* SetWorkerDeploymentManagerResponse. */
int
temporal_decode_set_manager(const uint8_t *buf, size_t len,
    struct temporal_token *out, char **cause)
{
	return decode_token_response(
	    &temporal__api__workflowservice__v1__set_worker_deployment_manager_response__descriptor,
	    buf, len, out, cause);
}

/* Release a version result. */
void
temporal_version_info_free(struct temporal_version_info *v)
{
	if (v == NULL)
		return;
	free(v->deployment_name);
	free(v->build_id);
	for (size_t i = 0; i < v->ntask_queues; i++)
		free(v->task_queues[i].name);
	free(v->task_queues);
	free(v->last_modifier_identity);
	free(v);
}

/* DescribeWorkerDeploymentVersionResponse. */
int
temporal_decode_version_info(const uint8_t *buf, size_t len,
    struct temporal_version_info **out, char **cause)
{
	PbDescribeVersionResp *m;
	const PbVersionInfo *pi;
	struct temporal_version_info *v;
	size_t n;

	m = (PbDescribeVersionResp *)decode_unpack(
	    &temporal__api__workflowservice__v1__describe_worker_deployment_version_response__descriptor,
	    buf, len, cause);
	if (m == NULL)
		return -1;
	pi = m->worker_deployment_version_info;
	if (pi == NULL) {
		*cause = xstrdup("DescribeWorkerDeploymentVersionResponse has "
		    "no worker_deployment_version_info");
		protobuf_c_message_free_unpacked(&m->base, NULL);
		return -1;
	}
	v = xcalloc(1, sizeof *v);
	v->deployment_name = decode_str(pi->deployment_version != NULL ?
	    pi->deployment_version->deployment_name : "");
	v->build_id = decode_str(pi->deployment_version != NULL ?
	    pi->deployment_version->build_id : "");
	v->status = pi->status;
	v->create_us = decode_time(pi->create_time);
	v->routing_changed_us = decode_time(pi->routing_changed_time);
	v->current_since_us = decode_time(pi->current_since_time);
	v->ramping_since_us = decode_time(pi->ramping_since_time);
	v->ramp_percentage = isnan(pi->ramp_percentage) ? 0 : pi->ramp_percentage;
	decode_drainage(pi->drainage_info, TEMPORAL_DRAINAGE_UNSPECIFIED,
	    &v->drainage);
	v->last_modifier_identity = decode_str(pi->last_modifier_identity);
	/* version_task_queues (1.29+), else the older task_queue_infos. */
	n = m->n_version_task_queues > 0 ? m->n_version_task_queues :
	    pi->n_task_queue_infos;
	if (n > 0)
		v->task_queues = xcalloc(n, sizeof *v->task_queues);
	for (size_t i = 0; i < n; i++) {
		if (m->n_version_task_queues > 0) {
			v->task_queues[i].name =
			    decode_str(m->version_task_queues[i]->name);
			v->task_queues[i].type = m->version_task_queues[i]->type;
		} else {
			v->task_queues[i].name =
			    decode_str(pi->task_queue_infos[i]->name);
			v->task_queues[i].type = pi->task_queue_infos[i]->type;
		}
	}
	v->ntask_queues = n;
	protobuf_c_message_free_unpacked(&m->base, NULL);
	*out = v;
	return 0;
}

/* DeleteWorkerDeploymentVersionResponse (no fields; must still parse). */
int
temporal_decode_delete_version(const uint8_t *buf, size_t len, char **cause)
{
	ProtobufCMessage *m;

	m = decode_unpack(
	    &temporal__api__workflowservice__v1__delete_worker_deployment_version_response__descriptor,
	    buf, len, cause);
	if (m == NULL)
		return -1;
	protobuf_c_message_free_unpacked(m, NULL);
	return 0;
}

/* Release a task queue result. */
void
temporal_task_queue_info_free(struct temporal_task_queue_info *q)
{
	if (q == NULL)
		return;
	for (size_t i = 0; i < q->npollers; i++) {
		free(q->pollers[i].identity);
		version_clear(&q->pollers[i].version);
	}
	free(q->pollers);
	version_clear(&q->current);
	version_clear(&q->ramping);
	free(q);
}

/* DescribeTaskQueueResponse. */
int
temporal_decode_task_queue(const uint8_t *buf, size_t len,
    struct temporal_task_queue_info **out, char **cause)
{
	PbDescribeTaskQueueResp *m;
	struct temporal_task_queue_info *q;

	m = (PbDescribeTaskQueueResp *)decode_unpack(
	    &temporal__api__workflowservice__v1__describe_task_queue_response__descriptor,
	    buf, len, cause);
	if (m == NULL)
		return -1;
	q = xcalloc(1, sizeof *q);
	if (m->n_pollers > 0)
		q->pollers = xcalloc(m->n_pollers, sizeof *q->pollers);
	for (size_t i = 0; i < m->n_pollers; i++) {
		const Temporal__Api__Taskqueue__V1__PollerInfo *pp = m->pollers[i];
		struct temporal_poller *p = &q->pollers[q->npollers++];

		p->identity = decode_str(pp->identity);
		p->last_access_us = decode_time(pp->last_access_time);
		p->rate_per_second = pp->rate_per_second;
		if (pp->deployment_options != NULL) {
			p->version.deployment_name =
			    decode_str(pp->deployment_options->deployment_name);
			p->version.build_id =
			    decode_str(pp->deployment_options->build_id);
			p->mode = pp->deployment_options->worker_versioning_mode;
		}
	}
	if (m->versioning_info != NULL) {
		decode_version(m->versioning_info->current_deployment_version,
		    &q->current);
		decode_version(m->versioning_info->ramping_deployment_version,
		    &q->ramping);
		q->ramping_percentage =
		    isnan(m->versioning_info->ramping_version_percentage) ? 0 :
		    m->versioning_info->ramping_version_percentage;
		q->update_us = decode_time(m->versioning_info->update_time);
	}
	protobuf_c_message_free_unpacked(&m->base, NULL);
	*out = q;
	return 0;
}

/* Release a start result. */
void
temporal_started_free(struct temporal_started *s)
{
	if (s == NULL)
		return;
	free(s->run_id);
	free(s);
}

/* StartWorkflowExecutionResponse. */
int
temporal_decode_started(const uint8_t *buf, size_t len,
    struct temporal_started **out, char **cause)
{
	PbStartResp *m;
	struct temporal_started *s;

	m = (PbStartResp *)decode_unpack(
	    &temporal__api__workflowservice__v1__start_workflow_execution_response__descriptor,
	    buf, len, cause);
	if (m == NULL)
		return -1;
	if (m->run_id == NULL || *m->run_id == '\0') {
		*cause = xstrdup("StartWorkflowExecutionResponse has no run_id");
		protobuf_c_message_free_unpacked(&m->base, NULL);
		return -1;
	}
	s = xcalloc(1, sizeof *s);
	s->run_id = decode_str(m->run_id);
	s->started = m->started;
	s->status = m->status;
	protobuf_c_message_free_unpacked(&m->base, NULL);
	*out = s;
	return 0;
}

/* Release a workflow result. */
void
temporal_workflow_free(struct temporal_workflow *w)
{
	if (w == NULL)
		return;
	free(w->workflow_id);
	free(w->run_id);
	free(w->type);
	free(w->task_queue);
	version_clear(&w->pinned);
	version_clear(&w->last_version);
	free(w);
}

/* DescribeWorkflowExecutionResponse. */
int
temporal_decode_workflow(const uint8_t *buf, size_t len,
    struct temporal_workflow **out, char **cause)
{
	PbDescribeWorkflowResp *m;
	const Temporal__Api__Workflow__V1__WorkflowExecutionInfo *pi;
	const Temporal__Api__Workflow__V1__WorkflowExecutionVersioningInfo *vi;
	const Temporal__Api__Workflow__V1__VersioningOverride *ov;
	struct temporal_workflow *w;

	m = (PbDescribeWorkflowResp *)decode_unpack(
	    &temporal__api__workflowservice__v1__describe_workflow_execution_response__descriptor,
	    buf, len, cause);
	if (m == NULL)
		return -1;
	pi = m->workflow_execution_info;
	if (pi == NULL) {
		*cause = xstrdup("DescribeWorkflowExecutionResponse has no "
		    "workflow_execution_info");
		protobuf_c_message_free_unpacked(&m->base, NULL);
		return -1;
	}
	w = xcalloc(1, sizeof *w);
	w->workflow_id = decode_str(pi->execution != NULL ?
	    pi->execution->workflow_id : "");
	w->run_id = decode_str(pi->execution != NULL ? pi->execution->run_id : "");
	w->type = decode_str(pi->type != NULL ? pi->type->name : "");
	w->task_queue = decode_str(pi->task_queue);
	w->status = pi->status;
	w->start_us = decode_time(pi->start_time);
	w->close_us = decode_time(pi->close_time);
	vi = pi->versioning_info;
	if (vi != NULL) {
		w->behavior = vi->behavior;
		decode_version(vi->deployment_version, &w->last_version);
		ov = vi->versioning_override;
		if (ov != NULL && ov->override_case ==
		    TEMPORAL__API__WORKFLOW__V1__VERSIONING_OVERRIDE__OVERRIDE_PINNED &&
		    ov->pinned != NULL)
			decode_version(ov->pinned->version, &w->pinned);
	}
	protobuf_c_message_free_unpacked(&m->base, NULL);
	*out = w;
	return 0;
}

/* CountWorkflowExecutionsResponse. */
int
temporal_decode_count(const uint8_t *buf, size_t len, int64_t *out,
    char **cause)
{
	PbCountResp *m;

	m = (PbCountResp *)decode_unpack(
	    &temporal__api__workflowservice__v1__count_workflow_executions_response__descriptor,
	    buf, len, cause);
	if (m == NULL)
		return -1;
	*out = m->count;
	protobuf_c_message_free_unpacked(&m->base, NULL);
	return 0;
}

/* Release a system info result. */
void
temporal_system_info_free(struct temporal_system_info *s)
{
	if (s == NULL)
		return;
	free(s->server_version);
	free(s);
}

/* Parse one bounded decimal number at *pp, advancing it. */
static int
version_number(const char **pp, int *out)
{
	const char *p = *pp;
	long n = 0;

	if (*p < '0' || *p > '9')
		return -1;
	while (*p >= '0' && *p <= '9') {
		n = n * 10 + (*p - '0');
		if (n > 1000000)
			return -1;
		p++;
	}
	*out = (int)n;
	*pp = p;
	return 0;
}

/* Parse "1.29.1", "v1.32.0-162.0" or "1.30" into its numbers. */
int
temporal_parse_version(const char *s, int *major, int *minor, int *patch)
{
	const char *p = s;

	*major = *minor = *patch = -1;
	if (p == NULL)
		return -1;
	if (*p == 'v' || *p == 'V')
		p++;
	if (version_number(&p, major) != 0 || *p++ != '.' ||
	    version_number(&p, minor) != 0)
		goto fail;
	if (*p == '.') {
		p++;
		if (version_number(&p, patch) != 0)
			goto fail;
	} else
		*patch = 0;
	if (*p != '\0' && *p != '-' && *p != '+')
		goto fail;
	return 0;

fail:
	*major = *minor = *patch = -1;
	return -1;
}

/* GetSystemInfoResponse. */
int
temporal_decode_system_info(const uint8_t *buf, size_t len,
    struct temporal_system_info **out, char **cause)
{
	PbSystemInfoResp *m;
	struct temporal_system_info *s;

	m = (PbSystemInfoResp *)decode_unpack(
	    &temporal__api__workflowservice__v1__get_system_info_response__descriptor,
	    buf, len, cause);
	if (m == NULL)
		return -1;
	s = xcalloc(1, sizeof *s);
	s->server_version = decode_str(m->server_version);
	if (strlen(s->server_version) > 128)
		s->server_version[128] = '\0';
	if (temporal_parse_version(s->server_version, &s->major, &s->minor,
	    &s->patch) != 0) {
		/* Unknown shape: let the server answer each call itself. */
		s->deployments = s->manager = true;
	} else {
		s->deployments = s->major > 1 || (s->major == 1 && s->minor >= 28);
		s->manager = s->major > 1 || (s->major == 1 && s->minor >= 29);
	}
	protobuf_c_message_free_unpacked(&m->base, NULL);
	*out = s;
	return 0;
}
