/* opts: command-line options declared once in a table that drives parsing and --help. */
#ifndef TWA_OPTS_H
#define TWA_OPTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

enum opt_type {
	OPT_FLAG,	/* no argument */
	OPT_STRING,	/* any non-empty text */
	OPT_INT,	/* whole number in [min, max] */
	OPT_DURATION,	/* duration in ms in [min, max] */
};

/* One option of a command. */
struct opt_spec {
	const char	*name;		/* long name, without "--" */
	char		 short_name;	/* 0: none */
	enum opt_type	 type;
	const char	*metavar;	/* shown in --help: "ADDR" */
	const char	*def;		/* default as text; NULL: none */
	const char	*help;
	int64_t		 min, max;	/* bounds of OPT_INT / OPT_DURATION */
};

/* Parsed value of one option, indexed like the table. */
struct opt_value {
	bool		 given;		/* on the command line (not a default) */
	bool		 set;		/* given, or has a default */
	const char	*str;		/* text: argv storage or the default */
	int64_t		 num;		/* OPT_INT, OPT_DURATION (ms), OPT_FLAG (0/1) */
};

/*
 * Parse argv[first..argc) against specs[0..n) into vals[0..n). Stops at the
 * first non-option argument or after "--"; *next gets its index. Returns 0,
 * 1 when --help or -h was given, or -1 and an allocated cause naming the
 * option and what it expects.
 */
int opts_parse(const struct opt_spec *specs, size_t n, int argc,
    char *const argv[], int first, struct opt_value *vals, int *next,
    char **cause);
/* Print usage: synopsis line, description, then every option with default. */
void opts_usage(FILE *f, const char *synopsis, const char *description,
    const struct opt_spec *specs, size_t n);

#endif
