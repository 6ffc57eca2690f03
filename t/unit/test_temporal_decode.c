/*
 * Tests of temporal_decode: responses built with protobuf-c decode into the
 * expected plain results; truncated, corrupted and random bytes fail
 * cleanly; server versions parse with bounds.
 */
#include "config.h"

#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "temporal_workflowservice.pb-c.h"

#include "check_main.h"
#include "temporal.h"
#include "temporal_decode.h"
#include "xalloc.h"

typedef Google__Protobuf__Timestamp PbTime;

/* Pack a message into a new buffer. Caller frees. */
static uint8_t *
pack(const ProtobufCMessage *m, size_t *len)
{
	uint8_t *buf;

	*len = protobuf_c_message_get_packed_size(m);
	buf = xmalloc(*len + 1);
	protobuf_c_message_pack(m, buf);
	return buf;
}

/* A DescribeWorkerDeploymentResponse: v2 ramping 30 % over Current v1. */
static uint8_t *
deployment_bytes(size_t *len)
{
	Temporal__Api__Workflowservice__V1__DescribeWorkerDeploymentResponse m =
	    TEMPORAL__API__WORKFLOWSERVICE__V1__DESCRIBE_WORKER_DEPLOYMENT_RESPONSE__INIT;
	Temporal__Api__Deployment__V1__WorkerDeploymentInfo info =
	    TEMPORAL__API__DEPLOYMENT__V1__WORKER_DEPLOYMENT_INFO__INIT;
	Temporal__Api__Deployment__V1__RoutingConfig rc =
	    TEMPORAL__API__DEPLOYMENT__V1__ROUTING_CONFIG__INIT;
	Temporal__Api__Deployment__V1__WorkerDeploymentVersion v1 =
	    TEMPORAL__API__DEPLOYMENT__V1__WORKER_DEPLOYMENT_VERSION__INIT;
	Temporal__Api__Deployment__V1__WorkerDeploymentVersion v2 =
	    TEMPORAL__API__DEPLOYMENT__V1__WORKER_DEPLOYMENT_VERSION__INIT;
	Temporal__Api__Deployment__V1__WorkerDeploymentInfo__WorkerDeploymentVersionSummary s1 =
	    TEMPORAL__API__DEPLOYMENT__V1__WORKER_DEPLOYMENT_INFO__WORKER_DEPLOYMENT_VERSION_SUMMARY__INIT;
	Temporal__Api__Deployment__V1__WorkerDeploymentInfo__WorkerDeploymentVersionSummary s2 =
	    TEMPORAL__API__DEPLOYMENT__V1__WORKER_DEPLOYMENT_INFO__WORKER_DEPLOYMENT_VERSION_SUMMARY__INIT;
	Temporal__Api__Deployment__V1__WorkerDeploymentInfo__WorkerDeploymentVersionSummary *sums[2] =
	    { &s2, &s1 };
	Temporal__Api__Deployment__V1__VersionDrainageInfo dr =
	    TEMPORAL__API__DEPLOYMENT__V1__VERSION_DRAINAGE_INFO__INIT;
	PbTime created = GOOGLE__PROTOBUF__TIMESTAMP__INIT;
	PbTime changed = GOOGLE__PROTOBUF__TIMESTAMP__INIT;

	created.seconds = 1700000000;
	created.nanos = 123456789;
	changed.seconds = 1700000100;
	v1.deployment_name = v2.deployment_name = (char *)"ns/orders";
	v1.build_id = (char *)"v1";
	v2.build_id = (char *)"v2";
	rc.current_deployment_version = &v1;
	rc.ramping_deployment_version = &v2;
	rc.ramping_version_percentage = 30;
	rc.ramping_version_percentage_changed_time = &changed;
	rc.revision_number = 7;
	s1.deployment_version = &v1;
	s1.status = TEMPORAL__API__ENUMS__V1__WORKER_DEPLOYMENT_VERSION_STATUS__WORKER_DEPLOYMENT_VERSION_STATUS_CURRENT;
	/* Present but UNSPECIFIED, as servers send for activated versions. */
	dr.status = 0;
	s1.drainage_info = &dr;
	s2.deployment_version = &v2;
	s2.status = 3;
	s2.drainage_status = 1;		/* only the bare status: the fallback */
	s2.create_time = &created;
	info.name = (char *)"ns/orders";
	info.create_time = &created;
	info.routing_config = &rc;
	info.n_version_summaries = 2;
	info.version_summaries = sums;
	info.manager_identity = (char *)"twa:ns/orders";
	info.routing_config_update_state = 2;
	m.worker_deployment_info = &info;
	m.conflict_token.data = (uint8_t *)"\x01tok";
	m.conflict_token.len = 4;
	return pack(&m.base, len);
}

START_TEST(test_decode_deployment)
{
	struct temporal_deployment *d = NULL;
	uint8_t *buf;
	size_t len;
	char *cause = NULL;

	buf = deployment_bytes(&len);
	ck_assert_int_eq(temporal_decode_deployment(buf, len, &d, &cause), 0);
	ck_assert_str_eq(d->name, "ns/orders");
	ck_assert_int_eq(d->create_us, 1700000000123456LL);
	ck_assert_str_eq(d->routing.current.build_id, "v1");
	ck_assert_str_eq(d->routing.ramping.build_id, "v2");
	ck_assert(d->routing.ramp);
	ck_assert(d->routing.ramping_percentage == 30);
	ck_assert_int_eq(d->routing.ramping_percentage_changed_us,
	    1700000100000000LL);
	ck_assert_int_eq(d->routing.ramping_changed_us, 0);
	ck_assert_int_eq(d->routing.revision_number, 7);
	ck_assert_uint_eq(d->nversions, 2);
	ck_assert_str_eq(d->versions[0].build_id, "v2");
	ck_assert_int_eq(d->versions[0].status, TEMPORAL_VERSION_RAMPING);
	ck_assert(!d->versions[0].drainage.present);
	ck_assert_int_eq(d->versions[0].drainage.status,
	    TEMPORAL_DRAINAGE_DRAINING);
	ck_assert(d->versions[1].drainage.present);
	ck_assert_int_eq(d->versions[1].drainage.status,
	    TEMPORAL_DRAINAGE_UNSPECIFIED);
	ck_assert_str_eq(d->manager_identity, "twa:ns/orders");
	ck_assert_str_eq(d->last_modifier_identity, "");
	ck_assert_int_eq(d->routing_update_state,
	    TEMPORAL_ROUTING_UPDATE_COMPLETED);
	ck_assert_uint_eq(d->token.len, 4);
	ck_assert(memcmp(d->token.data, "\x01tok", 4) == 0);
	temporal_deployment_free(d);

	/* Every truncation either fails cleanly or decodes a prefix. */
	for (size_t n = 0; n < len; n++) {
		d = NULL;
		cause = NULL;
		if (temporal_decode_deployment(buf, n, &d, &cause) == 0)
			temporal_deployment_free(d);
		else {
			ck_assert_ptr_nonnull(cause);
			free(cause);
		}
	}
	free(buf);
}
END_TEST

START_TEST(test_decode_unversioned_and_token_cap)
{
	Temporal__Api__Workflowservice__V1__DescribeWorkerDeploymentResponse m =
	    TEMPORAL__API__WORKFLOWSERVICE__V1__DESCRIBE_WORKER_DEPLOYMENT_RESPONSE__INIT;
	Temporal__Api__Deployment__V1__WorkerDeploymentInfo info =
	    TEMPORAL__API__DEPLOYMENT__V1__WORKER_DEPLOYMENT_INFO__INIT;
	Temporal__Api__Deployment__V1__RoutingConfig rc =
	    TEMPORAL__API__DEPLOYMENT__V1__ROUTING_CONFIG__INIT;
	static uint8_t big[TEMPORAL_TOKEN_MAX + 1];
	struct temporal_deployment *d = NULL;
	uint8_t *buf;
	size_t len;
	char *cause = NULL;

	/* Ramp to unversioned: no ramping version, percentage > 0. */
	rc.ramping_version_percentage = 5;
	info.routing_config = &rc;
	m.worker_deployment_info = &info;
	buf = pack(&m.base, &len);
	ck_assert_int_eq(temporal_decode_deployment(buf, len, &d, &cause), 0);
	ck_assert_ptr_null(d->routing.current.build_id);
	ck_assert_ptr_null(d->routing.ramping.build_id);
	ck_assert(d->routing.ramp);
	temporal_deployment_free(d);
	free(buf);

	/* A token longer than the cap is refused. */
	m.conflict_token.data = big;
	m.conflict_token.len = sizeof big;
	buf = pack(&m.base, &len);
	ck_assert_int_eq(temporal_decode_deployment(buf, len, &d, &cause), -1);
	ck_assert_ptr_nonnull(strstr(cause, "token"));
	free(cause);
	free(buf);

	/* No worker_deployment_info at all. */
	m.worker_deployment_info = NULL;
	m.conflict_token.len = 0;
	buf = pack(&m.base, &len);
	ck_assert_int_eq(temporal_decode_deployment(buf, len, &d, &cause), -1);
	ck_assert_ptr_nonnull(strstr(cause, "worker_deployment_info"));
	free(cause);
	free(buf);
}
END_TEST

START_TEST(test_decode_start_and_count)
{
	Temporal__Api__Workflowservice__V1__StartWorkflowExecutionResponse m =
	    TEMPORAL__API__WORKFLOWSERVICE__V1__START_WORKFLOW_EXECUTION_RESPONSE__INIT;
	struct temporal_started *s = NULL;
	uint8_t *buf;
	size_t len;
	int64_t n = 0;
	char *cause = NULL;

	m.run_id = (char *)"3f1c";
	m.started = true;
	m.status = 1;
	buf = pack(&m.base, &len);
	ck_assert_int_eq(temporal_decode_started(buf, len, &s, &cause), 0);
	ck_assert_str_eq(s->run_id, "3f1c");
	ck_assert(s->started);
	temporal_started_free(s);
	free(buf);
	/* An empty response has no run ID: an error, not an empty result. */
	ck_assert_int_eq(temporal_decode_started((const uint8_t *)"", 0, &s,
	    &cause), -1);
	free(cause);
	/* Count: field 1 varint 42. */
	ck_assert_int_eq(temporal_decode_count((const uint8_t *)"\x08\x2a", 2,
	    &n, &cause), 0);
	ck_assert_int_eq(n, 42);
}
END_TEST

/* Decode buf with every decoder; each must succeed or fail with a cause. */
static void
decode_all(const uint8_t *buf, size_t len)
{
	struct temporal_deployment *d = NULL;
	struct temporal_version_info *v = NULL;
	struct temporal_task_queue_info *q = NULL;
	struct temporal_started *s = NULL;
	struct temporal_workflow *w = NULL;
	struct temporal_system_info *si = NULL;
	struct temporal_token tok;
	int64_t n;
	char *cause;

#define TRY(call) do {							\
	cause = NULL;							\
	if ((call) != 0) {						\
		ck_assert_ptr_nonnull(cause);				\
		free(cause);						\
	} else								\
		ck_assert_ptr_null(cause);				\
} while (0)
	TRY(temporal_decode_deployment(buf, len, &d, &cause));
	temporal_deployment_free(d);
	TRY(temporal_decode_set_current(buf, len, &tok, &cause));
	TRY(temporal_decode_set_ramping(buf, len, &tok, &cause));
	TRY(temporal_decode_set_manager(buf, len, &tok, &cause));
	TRY(temporal_decode_version_info(buf, len, &v, &cause));
	temporal_version_info_free(v);
	TRY(temporal_decode_delete_version(buf, len, &cause));
	TRY(temporal_decode_task_queue(buf, len, &q, &cause));
	temporal_task_queue_info_free(q);
	TRY(temporal_decode_started(buf, len, &s, &cause));
	temporal_started_free(s);
	TRY(temporal_decode_workflow(buf, len, &w, &cause));
	temporal_workflow_free(w);
	TRY(temporal_decode_count(buf, len, &n, &cause));
	TRY(temporal_decode_system_info(buf, len, &si, &cause));
	temporal_system_info_free(si);
#undef TRY
}

START_TEST(test_decode_hostile)
{
	static const struct {
		const char	*bytes;
		size_t		 len;
	} cases[] = {
		{ "", 0 },
		{ "\xff", 1 },
		{ "\x0a\xff\xff\xff\xff\x0f", 6 },	/* huge length */
		{ "\x12\x05\x0a\x03", 4 },		/* truncated nested */
		{ "\x0b", 1 },				/* group start */
		{ "\x0f", 1 },				/* wire type 7 */
		{ "\x08\x80\x80\x80\x80\x80\x80\x80\x80\x80\x80\x01", 12 },
		{ "\x12\x02\x5a\x00", 4 },		/* nested empty string */
		{ "\x00\x00", 2 },			/* field number 0 */
	};
	uint8_t *buf, rnd[256];
	size_t len;
	uint64_t x = 0x9e3779b97f4a7c15ULL;

	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
		decode_all((const uint8_t *)cases[i].bytes, cases[i].len);
	/* Random bytes, and single-byte corruptions of a real response. */
	for (int round = 0; round < 300; round++) {
		for (size_t i = 0; i < sizeof rnd; i++) {
			x ^= x << 13;
			x ^= x >> 7;
			x ^= x << 17;
			rnd[i] = (uint8_t)x;
		}
		decode_all(rnd, (size_t)(x % sizeof rnd));
	}
	buf = deployment_bytes(&len);
	for (size_t i = 0; i < len; i++) {
		uint8_t save = buf[i];

		buf[i] ^= (uint8_t)(0x5a + i);
		decode_all(buf, len);
		buf[i] = save;
	}
	free(buf);
}
END_TEST

static const struct {
	const char	*s;
	int		 rc, major, minor, patch;
} versions[] = {
	{ "1.29.1", 0, 1, 29, 1 },
	{ "v1.32.0-162.0", 0, 1, 32, 0 },
	{ "1.28", 0, 1, 28, 0 },
	{ "2.0.0+meta", 0, 2, 0, 0 },
	{ "1.27.3", 0, 1, 27, 3 },
	{ "", -1, -1, -1, -1 },
	{ "1", -1, -1, -1, -1 },
	{ "1.", -1, -1, -1, -1 },
	{ "1.x.0", -1, -1, -1, -1 },
	{ "1.29.1 ", -1, -1, -1, -1 },
	{ "99999999.1.1", -1, -1, -1, -1 },
	{ "cloud", -1, -1, -1, -1 },
};

START_TEST(test_parse_version)
{
	int ma, mi, pa;

	ck_assert_int_eq(temporal_parse_version(versions[_i].s, &ma, &mi, &pa),
	    versions[_i].rc);
	ck_assert_int_eq(ma, versions[_i].major);
	ck_assert_int_eq(mi, versions[_i].minor);
	ck_assert_int_eq(pa, versions[_i].patch);
}
END_TEST

START_TEST(test_system_info_support)
{
	static const struct {
		const char	*version;
		bool		 deployments, manager;
	} cases[] = {
		{ "1.27.4", false, false },
		{ "1.28.0", true, false },
		{ "1.29.1", true, true },
		{ "1.31.0", true, true },
		{ "unknown-build", true, true },	/* let the server decide */
	};
	Temporal__Api__Workflowservice__V1__GetSystemInfoResponse m =
	    TEMPORAL__API__WORKFLOWSERVICE__V1__GET_SYSTEM_INFO_RESPONSE__INIT;
	struct temporal_system_info *si;
	uint8_t *buf;
	size_t len;
	char *cause = NULL;

	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		m.server_version = (char *)cases[i].version;
		buf = pack(&m.base, &len);
		ck_assert_int_eq(temporal_decode_system_info(buf, len, &si,
		    &cause), 0);
		ck_assert_str_eq(si->server_version, cases[i].version);
		ck_assert_int_eq(si->deployments, cases[i].deployments);
		ck_assert_int_eq(si->manager, cases[i].manager);
		temporal_system_info_free(si);
		free(buf);
	}
}
END_TEST

START_TEST(test_code_names)
{
	ck_assert_str_eq(temporal_code_name(TEMPORAL_NOT_FOUND), "NOT_FOUND");
	ck_assert_str_eq(temporal_code_name(TEMPORAL_UNAUTHENTICATED),
	    "UNAUTHENTICATED");
	ck_assert_str_eq(temporal_code_name(99), "UNKNOWN_CODE");
	ck_assert_str_eq(temporal_code_name(-1), "UNKNOWN_CODE");
	ck_assert(temporal_retryable(TEMPORAL_UNAVAILABLE));
	ck_assert(temporal_retryable(TEMPORAL_DEADLINE_EXCEEDED));
	ck_assert(temporal_retryable(TEMPORAL_RESOURCE_EXHAUSTED));
	for (int c = 0; c <= 16; c++) {
		if (c != TEMPORAL_UNAVAILABLE && c != TEMPORAL_DEADLINE_EXCEEDED &&
		    c != TEMPORAL_RESOURCE_EXHAUSTED)
			ck_assert(!temporal_retryable(c));
	}
}
END_TEST

static Suite *
temporal_decode_suite(void)
{
	Suite *s = suite_create("temporal_decode");
	TCase *tc = tcase_create("decode");

	tcase_add_test(tc, test_decode_deployment);
	tcase_add_test(tc, test_decode_unversioned_and_token_cap);
	tcase_add_test(tc, test_decode_start_and_count);
	tcase_add_test(tc, test_decode_hostile);
	tcase_add_loop_test(tc, test_parse_version, 0, N_CASES(versions));
	tcase_add_test(tc, test_system_info_support);
	tcase_add_test(tc, test_code_names);
	suite_add_tcase(s, tc);
	return s;
}

CHECK_MAIN(temporal_decode_suite)
