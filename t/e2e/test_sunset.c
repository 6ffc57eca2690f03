/*
 * test_sunset: the end of a version's life and an aborted ramp, end to end
 * with several `twa agent` processes: a Draining version keeps its pods
 * while pinned workflows run; once Drained it is scaled to 0 after the
 * scaledown delay, its Deployment deleted after the delete delay and its
 * Temporal version deleted once its pollers are gone. A ramp is cleared
 * when the new version turns unhealthy, and resumes once it recovers.
 */
#include "config.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check_main.h"
#include "e2e.h"
#include "proc.h"
#include "timefmt.h"
#include "xalloc.h"

/* Status string of version build in Temporal ("" when none). */
static char *
version_status(struct e2e *w, const char *build)
{
	json_t *d = e2e_tdep(w);
	const char *s = json_string_value(json_object_get(json_object_get(
	    json_object_get(d, "versions"), build), "status"));
	char *r = xstrdup(s != NULL ? s : "");

	json_decref(d);
	return r;
}

/* The version arg is DRAINING. */
static bool
cond_draining(struct e2e *w, void *build)
{
	char *s = version_status(w, build);
	bool ok = strcmp(s, "DRAINING") == 0;

	free(s);
	return ok;
}

/* Milliseconds of an RFC 3339 time. */
static long long
ms_of(const char *t)
{
	char *cause = NULL;
	int64_t us;

	ck_assert_msg(t != NULL && timefmt_parse(t, &us, &cause) == 0,
	    "bad time %s", t != NULL ? t : "(null)");
	return us / 1000;
}

/*
 * Successful API writes (verb, subresource) to Deployment name in the
 * write log; *first gets the time of the first one (ms since the epoch).
 */
static int
agent_writes(struct e2e *w, const char *verb, const char *subresource,
    const char *name, long long *first)
{
	json_t *out = NULL, *item;
	size_t i;
	int n = 0;

	ck_assert_int_eq(e2e_kadmin(w, "GET", "/writes?resource=deployments",
	    NULL, &out), 200);
	json_array_foreach(json_object_get(out, "writes"), i, item) {
		const char *v = json_string_value(json_object_get(item, "verb"));
		const char *sub = json_string_value(json_object_get(item,
		    "subresource"));
		const char *nm = json_string_value(json_object_get(item, "name"));
		const char *via = json_string_value(json_object_get(item, "via"));

		if (v == NULL || strcmp(v, verb) != 0 || nm == NULL ||
		    strcmp(nm, name) != 0 || via == NULL ||
		    strcmp(via, "api") != 0)
			continue;
		if ((subresource == NULL) != (sub == NULL) || (sub != NULL &&
		    strcmp(sub, subresource) != 0))
			continue;
		if (json_integer_value(json_object_get(item, "code")) / 100 != 2)
			continue;
		if (n++ == 0 && first != NULL)
			*first = json_integer_value(json_object_get(item, "time"));
	}
	json_decref(out);
	return n;
}

/* Drain -> scale down -> delete -> Temporal version deleted. */
START_TEST(test_drain_scaledown_delete)
{
	struct e2e_opts o = { .scenario = "sunset" };
	struct e2e *w = e2e_start(&o);
	json_t *d, *v;
	long long drained, t_scaled, t_deleted;
	char *s;

	e2e_deploy(w, "orders-v1", "v1", 2, NULL, 2);
	ck_assert(e2e_wait(w, "v1 current", e2e_cond_current, (void *)"v1",
	    30000));
	e2e_deploy(w, "orders-v2", "v2", 2, "{\"twa.dev/scaledown-delay\":"
	    "\"2s\",\"twa.dev/delete-delay\":\"4s\"}", 0);
	ck_assert(e2e_wait(w, "v2 current", e2e_cond_current, (void *)"v2",
	    30000));
	ck_assert(e2e_wait(w, "v1 draining", cond_draining, (void *)"v1",
	    10000));
	/* pinned workflows run: drainage is checked every second, v1 stays */
	e2e_run_for(w, 4000);
	s = version_status(w, "v1");
	ck_assert_str_eq(s, "DRAINING");
	free(s);
	ck_assert_int_eq(e2e_replicas(w, "orders-v1"), 2);
	ck_assert_int_eq(e2e_pods(w, "v1"), 2);
	e2e_print_status(w);
	ck_assert_int_eq(e2e_tadmin(w, "POST", "/workflows/finish",
	    "{\"deploymentName\":\"" E2E_TDEPLOYMENT "\",\"buildId\":\"v1\"}",
	    NULL), 200);
	e2e_note(w, "the pinned workflows of v1 completed");
	ck_assert(e2e_wait(w, "v1 scaled to 0", e2e_cond_scaled_to_zero,
	    (void *)"orders-v1", 20000));
	d = e2e_tdep(w);
	v = json_object_get(json_object_get(d, "versions"), "v1");
	ck_assert_str_eq(json_string_value(json_object_get(v, "status")),
	    "DRAINED");
	drained = ms_of(json_string_value(json_object_get(json_object_get(v,
	    "drainage"), "lastChangedTime")));
	json_decref(d);
	e2e_print_status(w);
	ck_assert(e2e_wait(w, "orders-v1 deleted", e2e_cond_gone,
	    (void *)"orders-v1", 20000));
	ck_assert(e2e_wait(w, "version v1 deleted", e2e_cond_version_deleted,
	    (void *)"v1", 20000));
	ck_assert(e2e_wait(w, "Event VersionDeleted", e2e_cond_event,
	    (void *)"VersionDeleted", 5000));
	/* both delays count from Drained (write log times, same clock) */
	ck_assert_int_eq(agent_writes(w, "patch", "scale", "orders-v1",
	    &t_scaled), 1);
	ck_assert_int_eq(agent_writes(w, "delete", NULL, "orders-v1",
	    &t_deleted), 1);
	printf("Drained -> scaled to 0: %lld ms (delay 2 s); -> deleted: %lld ms "
	    "(delay 4 s)\n", t_scaled - drained, t_deleted - drained);
	ck_assert_int_ge(t_scaled - drained, 2000);
	ck_assert_int_ge(t_deleted - drained, 4000);
	ck_assert_int_eq(agent_writes(w, "patch", "scale", "orders-v2", NULL), 0);
	ck_assert_int_eq(agent_writes(w, "delete", NULL, "orders-v2", NULL), 0);
	ck_assert_int_ge(e2e_events(w, "ScaledDown", "orders-v1"), 1);
	ck_assert_int_ge(e2e_events(w, "DeploymentDeleted", "orders-v1"), 1);
	ck_assert_int_ge(e2e_events(w, "VersionDeleted", "twa-" E2E_LABEL), 1);
	ck_assert_int_eq(e2e_replicas(w, "orders-v2"), 2);
	ck_assert_int_eq(e2e_pods(w, "v1"), 0);
	e2e_print_status(w);
	e2e_stop(w);
}
END_TEST

/* The ramp is cleared when v2 turns unhealthy, and resumes after. */
START_TEST(test_abort_unhealthy)
{
	struct e2e_opts o = { .scenario = "abort" };
	struct e2e *w = e2e_start(&o);
	struct e2e_ramp ramp = { "v2", 50 };
	const struct e2e_route *r;
	long long t_sick;
	int iclear, i50;
	char *cur;

	e2e_deploy(w, "orders-v1", "v1", 2, NULL, 0);
	ck_assert(e2e_wait(w, "v1 current", e2e_cond_current, (void *)"v1",
	    30000));
	e2e_deploy(w, "orders-v2", "v2", 2, "{\"twa.dev/rollout\":"
	    "\"Progressive\",\"twa.dev/ramp-steps\":\"50%/60s\"}", 0);
	ck_assert(e2e_wait(w, "ramp 50%", e2e_cond_ramp, &ramp, 30000));
	e2e_set_unhealthy(w, "v2", true);
	t_sick = e2e_elapsed(w);
	ck_assert(e2e_wait(w, "Warning RampAborted", e2e_cond_event,
	    (void *)"RampAborted", 15000));
	i50 = e2e_route_find(w, 0, "v1", "v2", 50);
	ck_assert_int_ge(i50, 0);
	iclear = e2e_route_find(w, (size_t)i50, "v1", "", 0);
	e2e_routes(w, &r);
	ck_assert_int_eq(iclear, i50 + 1);
	/* not before the pods were seen unhealthy for one report interval */
	ck_assert_int_ge(r[iclear].at - t_sick, 1000);
	cur = e2e_current(w);
	ck_assert_str_eq(cur, "v1");
	free(cur);
	e2e_print_status(w);
	e2e_set_unhealthy(w, "v2", false);
	ck_assert(e2e_wait(w, "ramp 50% again", e2e_cond_ramp, &ramp, 20000));
	ck_assert_int_eq(e2e_trequests(w,
	    "SetWorkerDeploymentRampingVersion"), 3);
	e2e_print_status(w);
	e2e_stop(w);
}
END_TEST

/* The suite. */
static Suite *
sunset_suite(void)
{
	const struct {
		const char	*name;
		const TTest	*test;
	} cases[] = {
		{ "drain_scaledown_delete", test_drain_scaledown_delete },
		{ "abort_unhealthy", test_abort_unhealthy },
	};
	Suite *s = suite_create("sunset");

	for (int i = 0; i < N_CASES(cases); i++) {
		TCase *tc = tcase_create(cases[i].name);

		tcase_set_timeout(tc, 120);
		tcase_add_test(tc, cases[i].test);
		suite_add_tcase(s, tc);
	}
	return s;
}

CHECK_MAIN(sunset_suite)
