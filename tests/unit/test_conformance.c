#include "check.h"
#include "util.h"
int suite_conformance(void) { return check_n_fail; }
