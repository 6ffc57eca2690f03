/* Tests of agentconf: live configuration from downward-API files. */
#include "config.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "agentconf.h"
#include "check_main.h"
#include "log.h"
#include "xalloc.h"

/* A temporary directory with the two files, laid out like the kubelet does. */
struct fix {
	char		 dir[64];
	char		*ann, *lab;
	unsigned	 gen;		/* ..data generations written */
	unsigned	 warns;
	char		 last_key[128], last_msg[512];
	char		*logbuf;
	size_t		 loglen;
	FILE		*log;
};

/* Warn callback: count and keep the last one. */
static void
fix_warn_cb(const char *key, const char *value, const char *message,
    void *arg)
{
	struct fix *f = arg;

	f->warns++;
	snprintf(f->last_key, sizeof f->last_key, "%s", key);
	snprintf(f->last_msg, sizeof f->last_msg, "%s", message);
}

/*
 * Write both files as a new generation: ..<gen>/annotations, then swap
 * the ..data symlink, the way the kubelet's atomic writer does.
 */
static void
fix_write(struct fix *f, const char *ann, const char *lab)
{
	char gen[128], path[192], link[128], tmp[128];
	FILE *fp;

	f->gen++;
	snprintf(gen, sizeof gen, "%s/..gen%u", f->dir, f->gen);
	ck_assert_int_eq(mkdir(gen, 0755), 0);
	snprintf(path, sizeof path, "%s/annotations", gen);
	fp = fopen(path, "w");
	fputs(ann, fp);
	fclose(fp);
	snprintf(path, sizeof path, "%s/labels", gen);
	fp = fopen(path, "w");
	fputs(lab, fp);
	fclose(fp);
	snprintf(link, sizeof link, "%s/..data", f->dir);
	snprintf(tmp, sizeof tmp, "%s/..data_tmp", f->dir);
	snprintf(gen, sizeof gen, "..gen%u", f->gen);
	ck_assert_int_eq(symlink(gen, tmp), 0);
	ck_assert_int_eq(rename(tmp, link), 0);
}

/* Set up the directory and the stable symlinks. */
static void
fix_init(struct fix *f)
{
	char p[128];

	memset(f, 0, sizeof f[0]);
	snprintf(f->dir, sizeof f->dir, "/tmp/twa-acf-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(f->dir));
	f->ann = xasprintf("%s/annotations", f->dir);
	f->lab = xasprintf("%s/labels", f->dir);
	snprintf(p, sizeof p, "..data/annotations");
	ck_assert_int_eq(symlink(p, f->ann), 0);
	snprintf(p, sizeof p, "..data/labels");
	ck_assert_int_eq(symlink(p, f->lab), 0);
	f->log = open_memstream(&f->logbuf, &f->loglen);
	log_set_stream(f->log);
	log_set_level(LOG_LEVEL_INFO);
}

/* Remove everything. */
static void
fix_done(struct fix *f)
{
	char cmd[160];

	log_set_stream(NULL);
	fclose(f->log);
	free(f->logbuf);
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", f->dir);
	ck_assert_int_eq(system(cmd), 0);
	free(f->ann);
	free(f->lab);
}

/* Whether the log so far holds s. */
static bool
fix_logged(struct fix *f, const char *s)
{
	fflush(f->log);
	return f->logbuf != NULL && strstr(f->logbuf, s) != NULL;
}

/* Forget the log so far. */
static void
fix_log_clear(struct fix *f)
{
	fflush(f->log);
	rewind(f->log);
	fflush(f->log);
	if (f->logbuf != NULL)
		f->logbuf[0] = '\0';
}

static const char *LAB = "app=\"orders\"\ntwa.dev/deployment=\"orders\"\n";

START_TEST(test_agentconf_initial)
{
	struct fix f;
	struct agentconf *c;
	const struct settings *s;
	const char *const *bad;

	fix_init(&f);
	fix_write(&f, "kubernetes.io/config.seen=\"x\"\n"
	    "twa.dev/report-interval=\"3s\"\ntwa.dev/rollout=\"Progressive\"\n"
	    "twa.dev/worker-probe=\"http://:8080/healthz\"", LAB);
	c = agentconf_new(f.ann, f.lab, fix_warn_cb, &f);
	ck_assert_int_eq(agentconf_reload(c, true, NULL), AGENTCONF_SETTINGS);
	s = agentconf_settings(c);
	ck_assert_int_eq(s->report_interval_ms, 3000);
	ck_assert_int_eq(s->rollout, SETTINGS_ROLLOUT_PROGRESSIVE);
	ck_assert_int_eq(s->worker_probe.kind, SETTINGS_PROBE_HTTP);
	ck_assert_int_eq(s->worker_probe.port, 8080);
	ck_assert_str_eq(agentconf_label(c, "twa.dev/deployment"), "orders");
	ck_assert(agentconf_have_labels(c));
	ck_assert_str_eq(agentconf_annotation(c, "twa.dev/rollout"),
	    "Progressive");
	ck_assert_uint_eq(agentconf_invalid(c, &bad), 0);
	ck_assert_uint_eq(f.warns, 0);
	ck_assert_ptr_null(agentconf_last_error(c, NULL));
	ck_assert(fix_logged(&f, "annotation applies"));
	/* nothing changed: nothing read */
	ck_assert_int_eq(agentconf_reload(c, false, NULL), AGENTCONF_SAME);
	ck_assert_uint_eq(agentconf_reloads(c), 1);
	agentconf_free(c);
	fix_done(&f);
}
END_TEST

/* An invalid value keeps the last good one and warns once per distinct value. */
START_TEST(test_agentconf_invalid_once)
{
	struct fix f;
	struct agentconf *c;
	struct settings prev;
	const char *const *bad;
	const char *err;

	fix_init(&f);
	fix_write(&f, "twa.dev/report-interval=\"3s\"", LAB);
	c = agentconf_new(f.ann, f.lab, fix_warn_cb, &f);
	agentconf_reload(c, true, NULL);
	ck_assert_int_eq(agentconf_settings(c)->report_interval_ms, 3000);

	fix_write(&f, "twa.dev/report-interval=\"soon\"", LAB);
	ck_assert_int_eq(agentconf_reload(c, false, NULL), AGENTCONF_SAME);
	ck_assert_int_eq(agentconf_settings(c)->report_interval_ms, 3000);
	ck_assert_uint_eq(f.warns, 1);
	ck_assert_str_eq(f.last_key, "twa.dev/report-interval");
	ck_assert_ptr_nonnull(strstr(f.last_msg, "\"soon\""));
	ck_assert_ptr_nonnull(strstr(f.last_msg, "expected"));
	ck_assert(fix_logged(&f, "level=error"));
	ck_assert(fix_logged(&f, "keeping the last good value"));
	ck_assert_uint_eq(agentconf_invalid(c, &bad), 1);
	ck_assert_str_eq(bad[0], "twa.dev/report-interval");
	err = agentconf_last_error(c, NULL);
	ck_assert_ptr_nonnull(err);
	ck_assert_ptr_nonnull(strstr(err, "twa.dev/report-interval"));
	ck_assert_uint_eq(agentconf_errors(c), 1);

	/* forced re-reads and unrelated changes do not warn again */
	agentconf_reload(c, true, NULL);
	fix_write(&f, "twa.dev/report-interval=\"soon\"\n"
	    "twa.dev/rollout=\"Manual\"", LAB);
	ck_assert_int_eq(agentconf_reload(c, false, &prev), AGENTCONF_SETTINGS);
	ck_assert_int_eq(prev.rollout, SETTINGS_ROLLOUT_ALL_AT_ONCE);
	settings_clear(&prev);
	ck_assert_int_eq(agentconf_settings(c)->rollout, SETTINGS_ROLLOUT_MANUAL);
	ck_assert_int_eq(agentconf_settings(c)->report_interval_ms, 3000);
	ck_assert_uint_eq(f.warns, 1);

	/* another bad value warns again */
	fix_write(&f, "twa.dev/report-interval=\"-1s\"\n"
	    "twa.dev/rollout=\"Manual\"", LAB);
	agentconf_reload(c, false, NULL);
	ck_assert_uint_eq(f.warns, 2);
	ck_assert_ptr_nonnull(strstr(f.last_msg, "\"-1s\""));
	ck_assert_int_eq(agentconf_settings(c)->report_interval_ms, 3000);

	/* fixed: applies and is logged as fixed */
	fix_log_clear(&f);
	fix_write(&f, "twa.dev/report-interval=\"5s\"\n"
	    "twa.dev/rollout=\"Manual\"", LAB);
	ck_assert_int_eq(agentconf_reload(c, false, NULL), AGENTCONF_SETTINGS);
	ck_assert_int_eq(agentconf_settings(c)->report_interval_ms, 5000);
	ck_assert(fix_logged(&f, "annotation fixed; it applies now"));
	ck_assert(fix_logged(&f, "value=5s"));
	ck_assert_uint_eq(agentconf_invalid(c, &bad), 0);
	ck_assert_uint_eq(f.warns, 2);

	/* the same bad value after a fix is a new occurrence: one more warning */
	fix_write(&f, "twa.dev/report-interval=\"soon\"\n"
	    "twa.dev/rollout=\"Manual\"", LAB);
	agentconf_reload(c, false, NULL);
	ck_assert_uint_eq(f.warns, 3);
	ck_assert_int_eq(agentconf_settings(c)->report_interval_ms, 5000);

	/* removing the annotation brings the default back */
	fix_write(&f, "twa.dev/rollout=\"Manual\"", LAB);
	ck_assert_int_eq(agentconf_reload(c, false, NULL), AGENTCONF_SETTINGS);
	ck_assert_int_eq(agentconf_settings(c)->report_interval_ms, 15000);
	ck_assert_uint_eq(agentconf_invalid(c, &bad), 0);
	agentconf_free(c);
	fix_done(&f);
}
END_TEST

/* Several bad values at once, an unknown twa.dev/ key, a cross-field error. */
START_TEST(test_agentconf_many_bad)
{
	struct fix f;
	struct agentconf *c;
	const char *const *bad;

	fix_init(&f);
	fix_write(&f, "twa.dev/agent-log-level=\"loud\"\n"
	    "twa.dev/max-versions=\"1\"\ntwa.dev/no-such=\"x\"\n"
	    "twa.dev/delete-delay=\"1m\"\ntwa.dev/scaledown-delay=\"1h\"", LAB);
	c = agentconf_new(f.ann, f.lab, fix_warn_cb, &f);
	agentconf_reload(c, true, NULL);
	ck_assert_uint_eq(f.warns, 4);
	ck_assert_uint_eq(agentconf_invalid(c, &bad), 4);
	ck_assert_int_eq(agentconf_settings(c)->agent_log_level, LOG_LEVEL_INFO);
	ck_assert_int_eq(agentconf_settings(c)->max_versions, 20);
	agentconf_reload(c, true, NULL);
	ck_assert_uint_eq(f.warns, 4);
	agentconf_free(c);
	fix_done(&f);
}
END_TEST

/* A file that does not parse keeps everything; a missing file too. */
START_TEST(test_agentconf_bad_file)
{
	struct fix f;
	struct agentconf *c;
	const char *err;

	fix_init(&f);
	fix_write(&f, "twa.dev/report-interval=\"4s\"", LAB);
	c = agentconf_new(f.ann, f.lab, fix_warn_cb, &f);
	agentconf_reload(c, true, NULL);
	fix_write(&f, "twa.dev/report-interval=\"4s\nbroken", LAB);
	ck_assert_int_eq(agentconf_reload(c, false, NULL), AGENTCONF_SAME);
	ck_assert_int_eq(agentconf_settings(c)->report_interval_ms, 4000);
	err = agentconf_last_error(c, NULL);
	ck_assert_ptr_nonnull(err);
	ck_assert_ptr_nonnull(strstr(err, "line 1"));
	ck_assert(fix_logged(&f, "cannot parse file"));
	ck_assert_uint_eq(f.warns, 0);
	/* the previous good content still answers */
	ck_assert_str_eq(agentconf_annotation(c, "twa.dev/report-interval"),
	    "4s");
	/* fixing the file applies its content */
	fix_write(&f, "twa.dev/report-interval=\"6s\"", LAB);
	ck_assert_int_eq(agentconf_reload(c, false, NULL), AGENTCONF_SETTINGS);
	ck_assert_int_eq(agentconf_settings(c)->report_interval_ms, 6000);
	/* the file disappears: settings stay */
	ck_assert_int_eq(unlink(f.ann), 0);
	ck_assert_int_eq(agentconf_reload(c, false, NULL), AGENTCONF_SAME);
	ck_assert_int_eq(agentconf_settings(c)->report_interval_ms, 6000);
	ck_assert(fix_logged(&f, "file disappeared"));
	agentconf_free(c);
	fix_done(&f);
}
END_TEST

/* No files at all: defaults, no labels, an error to show. */
START_TEST(test_agentconf_missing)
{
	struct fix f;
	struct agentconf *c;

	fix_init(&f);
	c = agentconf_new(f.ann, f.lab, fix_warn_cb, &f);
	ck_assert_int_eq(agentconf_reload(c, true, NULL), AGENTCONF_SAME);
	ck_assert_int_eq(agentconf_settings(c)->report_interval_ms, 15000);
	ck_assert(!agentconf_have_labels(c));
	ck_assert_ptr_null(agentconf_label(c, "twa.dev/deployment"));
	ck_assert_ptr_nonnull(agentconf_last_error(c, NULL));
	ck_assert(fix_logged(&f, "file missing"));
	/* the files appear later and apply */
	fix_write(&f, "twa.dev/report-interval=\"2s\"", LAB);
	ck_assert_int_eq(agentconf_reload(c, false, NULL), AGENTCONF_SETTINGS);
	ck_assert_int_eq(agentconf_settings(c)->report_interval_ms, 2000);
	ck_assert_str_eq(agentconf_label(c, "twa.dev/deployment"), "orders");
	agentconf_free(c);
	fix_done(&f);
}
END_TEST

/* A changed deployment label is logged as needing a restart. */
START_TEST(test_agentconf_label_change)
{
	struct fix f;
	struct agentconf *c;

	fix_init(&f);
	fix_write(&f, "", LAB);
	c = agentconf_new(f.ann, f.lab, fix_warn_cb, &f);
	agentconf_reload(c, true, NULL);
	fix_write(&f, "", "twa.dev/deployment=\"billing\"");
	agentconf_reload(c, false, NULL);
	ck_assert(fix_logged(&f, "label changed; it applies on restart"));
	ck_assert_str_eq(agentconf_label(c, "twa.dev/deployment"), "billing");
	agentconf_free(c);
	fix_done(&f);
}
END_TEST

/* The settings as JSON, written as an operator would. */
START_TEST(test_agentconf_json)
{
	struct settings s;
	struct settings_kv kv[] = {
		{ "twa.dev/ramp-steps", "5%/1m,25%/90s,75%/1h" },
		{ "twa.dev/worker-probe", "tcp://[::1]:7234" },
		{ "twa.dev/min-ready", "3" },
		{ "twa.dev/api-key-secret", "keys:temporal" },
	};
	struct settings_errors errs;
	json_t *j;

	ck_assert_uint_eq(settings_parse(NULL, kv, 4, &s, &errs), 0);
	j = agentconf_settings_json(&s);
	ck_assert_str_eq(json_string_value(json_object_get(j,
	    "twa.dev/ramp-steps")), "5%/1m,25%/1m30s,75%/1h");
	ck_assert_str_eq(json_string_value(json_object_get(j,
	    "twa.dev/worker-probe")), "tcp://[::1]:7234");
	ck_assert_str_eq(json_string_value(json_object_get(j,
	    "twa.dev/min-ready")), "3");
	ck_assert_str_eq(json_string_value(json_object_get(j,
	    "twa.dev/api-key-secret")), "keys:temporal");
	ck_assert_str_eq(json_string_value(json_object_get(j,
	    "twa.dev/report-interval")), "15s");
	ck_assert(json_is_null(json_object_get(j, "twa.dev/gate-workflow")));
	ck_assert_uint_eq(json_object_size(j), settings_count());
	json_decref(j);
	settings_clear(&s);
	settings_errors_free(&errs);
}
END_TEST

/* The suite. */
static Suite *
agentconf_suite(void)
{
	Suite *s = suite_create("agentconf");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_agentconf_initial);
	tcase_add_test(tc, test_agentconf_invalid_once);
	tcase_add_test(tc, test_agentconf_many_bad);
	tcase_add_test(tc, test_agentconf_bad_file);
	tcase_add_test(tc, test_agentconf_missing);
	tcase_add_test(tc, test_agentconf_label_change);
	tcase_add_test(tc, test_agentconf_json);
	suite_add_tcase(s, tc);
	return s;
}

CHECK_MAIN(agentconf_suite)
