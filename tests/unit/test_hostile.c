#include "check.h"
#include "util.h"
int suite_hostile(void) { return check_n_fail; }
