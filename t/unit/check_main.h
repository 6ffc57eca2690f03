/* check_main: the common main() of the Check unit tests. */
#ifndef TWA_CHECK_MAIN_H
#define TWA_CHECK_MAIN_H

#include <check.h>
#include <stdlib.h>

#define N_CASES(a) (int)(sizeof(a) / sizeof((a)[0]))

/* Define main() running the suite built by fn. */
#define CHECK_MAIN(fn)							\
int									\
main(void)								\
{									\
	SRunner *sr = srunner_create(fn());				\
	int failed;							\
									\
	srunner_run_all(sr, CK_NORMAL);					\
	failed = srunner_ntests_failed(sr);				\
	srunner_free(sr);						\
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;		\
}

#endif
