#include "check.h"
#include "util.h"
int suite_compile(void) { return check_n_fail; }
