/*
 * demo: the main job. A full rollout on the two simulators with real
 * `twa agent` processes standing in for the pods' sidecars and fake
 * workers registering pollers and pinned workflows: orders-v1 becomes
 * current; orders-v2 passes a gate workflow and ramps Progressive
 * 20%/5s, 60%/5s to current; orders-v1 drains, is scaled to 0 and
 * deleted, and its Temporal version removed. Printed as a timeline with
 * the `twa status orders` table at each stage. Run through t/e2e/demo.sh.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "e2e.h"
#include "proc.h"
#include "xalloc.h"

/* Print a stage header. */
static void
stage(struct e2e *w, const char *title)
{
	long long t = e2e_elapsed(w);

	printf("\n== [%4lld.%llds] %s\n", t / 1000, (t % 1000) / 100, title);
	fflush(stdout);
}

/* Wait or give up with a message. */
static void
must(struct e2e *w, const char *what, bool (*cond)(struct e2e *, void *),
    void *arg, int timeout_ms)
{
	if (!e2e_wait(w, what, cond, arg, timeout_ms)) {
		fprintf(stderr, "demo: gave up waiting for %s (logs in %s)\n",
		    what, e2e_dir(w));
		e2e_stop(w);
		exit(1);
	}
}

/* The gate run of the build in arg has closed. */
static bool
cond_gate_closed(struct e2e *w, void *build)
{
	char *id = xasprintf("twa-gate:" E2E_TDEPLOYMENT ":%s:" E2E_TQ,
	    (char *)build);
	char *s = e2e_workflow_status(w, id);
	bool ok = s != NULL && strcmp(s, "Running") != 0;

	free(id);
	free(s);
	return ok;
}

/* Version arg is DRAINING in Temporal. */
static bool
cond_draining(struct e2e *w, void *build)
{
	json_t *d = e2e_tdep(w);
	const char *s = json_string_value(json_object_get(json_object_get(
	    json_object_get(d, "versions"), build), "status"));
	bool ok = s != NULL && strcmp(s, "DRAINING") == 0;

	json_decref(d);
	return ok;
}

int
main(void)
{
	static const char *const targs[] = { "--drainage-grace", "2000",
	    "--drainage-refresh", "2000", NULL };
	struct e2e_opts o = { .scenario = "demo", .brief = true,
	    .temporal_args = targs, .lease_ms = 15000, .renew_ms = 10000,
	    .retry_ms = 2000, .report_interval = "2s" };
	const char *plan = "{\"twa.dev/rollout\":\"Progressive\","
	    "\"twa.dev/ramp-steps\":\"20%/5s,60%/5s\","
	    "\"twa.dev/scaledown-delay\":\"5s\",\"twa.dev/delete-delay\":\"10s\"";
	struct e2e_ramp r20, r60;
	char *v1, *v2, *ann;
	struct e2e *w;

	setvbuf(stdout, NULL, _IOLBF, 0);
	printf("twa demo: a rollout on the Kubernetes and Temporal simulators, "
	    "with real `twa agent`\nprocesses as the pods' sidecars (3 pods "
	    "per version, each with a fake worker).\nTimes are seconds since "
	    "the start. Every agent's logs stay in the scenario directory\n"
	    "while it runs.\n");
	e2e_standalone();
	w = e2e_start(&o);

	stage(w, "1. orders-v1, the first version (image orders:1.0; each pod "
	    "starts 2 pinned workflows)");
	ann = xasprintf("%s}", plan);
	v1 = e2e_deploy_image(w, "orders-v1", "1.0", 3, ann, 2);
	free(ann);
	must(w, "v1 current", e2e_cond_current, v1, 60000);
	must(w, "a leader status", e2e_cond_leader, NULL, 20000);
	e2e_run_for(w, 1500);
	e2e_print_status(w);

	stage(w, "2. orders-v2 (image orders:2.0): gate workflow SmokeTest, "
	    "then Progressive 20%/5s, 60%/5s");
	if (e2e_tadmin(w, "POST", "/gate-outcomes", "{\"workflowType\":"
	    "\"SmokeTest\",\"outcome\":\"success\",\"delayMs\":3000}", NULL) !=
	    200) {
		fprintf(stderr, "demo: cannot set up the gate outcome\n");
		e2e_stop(w);
		return 1;
	}
	ann = xasprintf("%s,\"twa.dev/gate-workflow\":\"SmokeTest\","
	    "\"twa.dev/gate-input\":\"{\\\"orders\\\":3}\"}", plan);
	v2 = e2e_deploy_image(w, "orders-v2", "2.0", 3, ann, 0);
	free(ann);
	must(w, "the gate of v2", cond_gate_closed, v2, 60000);
	r20.build = v2;
	r20.pct = 20;
	must(w, "ramp 20%", e2e_cond_ramp, &r20, 30000);
	e2e_run_for(w, 1000);
	e2e_print_status(w);
	r60.build = v2;
	r60.pct = 60;
	must(w, "ramp 60%", e2e_cond_ramp, &r60, 30000);
	e2e_run_for(w, 1000);
	e2e_print_status(w);
	must(w, "v2 current", e2e_cond_current, v2, 30000);

	stage(w, "3. orders-v1 drains: its pinned workflows still run, so its "
	    "pods stay");
	must(w, "v1 draining", cond_draining, v1, 30000);
	e2e_run_for(w, 3000);
	e2e_print_status(w);
	e2e_note(w, "the 6 pinned workflows of v1 complete");
	ann = xasprintf("{\"deploymentName\":\"" E2E_TDEPLOYMENT "\","
	    "\"buildId\":\"%s\"}", v1);
	if (e2e_tadmin(w, "POST", "/workflows/finish", ann, NULL) != 200)
		fprintf(stderr, "demo: cannot finish the v1 workflows\n");
	free(ann);
	must(w, "v1 scaled to 0", e2e_cond_scaled_to_zero, (void *)"orders-v1",
	    60000);
	e2e_run_for(w, 1000);
	e2e_print_status(w);
	must(w, "orders-v1 deleted", e2e_cond_gone, (void *)"orders-v1", 60000);
	must(w, "version v1 deleted", e2e_cond_version_deleted, v1, 60000);
	must(w, "Event VersionDeleted", e2e_cond_event, (void *)"VersionDeleted",
	    10000);
	e2e_run_for(w, 2500);

	stage(w, "4. done: orders-v2 is current, orders-v1 is gone");
	e2e_print_status(w);
	printf("\ndemo finished in %.1f s\n", e2e_elapsed(w) / 1000.0);
	free(v1);
	free(v2);
	e2e_stop(w);
	return 0;
}
