#!/usr/bin/env bash
# The error convention of DESIGN §9, kept true: below agent/cmd/ nothing
# prints on its own. A layer returns a negative errno and says why in a
# struct pw_error, leaves warnings where its caller reads them (a sync's
# pw_sync_stats.warning) or says what it did through the one log hook cmd/
# installs (agent/log.h). Writing to a FILE * the caller hands over is
# fine (the formatters of ops/pure/why.c, ops/events.c): the caller chose
# the stream.
#
# This greps every .c and .h under agent/, outside agent/cmd/ and
# agent/main.c, for stdio's standard streams and the functions that print
# to them, and fails listing each offender. Prints "PASS layers_no_stdio" or
# "FAIL layers_no_stdio: ..." (tests/run.sh).
set -uo pipefail
cd "$(dirname "$0")/.."

# The allow-list: a path prefix and why. Keep it small.
allow=(
	# the benchmark harness, run only by `podwall bench` (cmd/bench.c): its
	# progress lines (-v) and its tables are that command's output
	"agent/bench/"
)

pattern='\b(stderr|stdout|STDERR_FILENO|STDOUT_FILENO)\b|\b(printf|vprintf|puts|perror|putchar|dprintf|vdprintf)[[:space:]]*\(|\b(warnx?|errx?|vwarnx?|verrx?)[[:space:]]*\([[:space:]]*"|#[[:space:]]*include[[:space:]]*<err\.h>'

offenders=()
while IFS= read -r hit; do
	file=${hit%%:*}
	skip=false
	for a in "${allow[@]}"; do
		[[ $file == "$a"* ]] && skip=true
	done
	$skip || offenders+=("$hit")
done < <(grep -rnE --include='*.c' --include='*.h' "$pattern" agent \
		| grep -vE '^agent/(cmd/|main\.c:)' \
		| grep -vE '^[^:]+:[0-9]+:[[:space:]]*(/?\*|//)') # comment lines

if [ ${#offenders[@]} -eq 0 ]; then
	echo "PASS layers_no_stdio (agent/ below cmd/ prints nothing on its own; allowed: ${allow[*]})"
	exit 0
fi
echo "FAIL layers_no_stdio: ${#offenders[@]} direct stdio use(s) below agent/cmd/ (return a pw_error, or pw_warn/pw_info of agent/log.h; DESIGN §9):"
printf '  %s\n' "${offenders[@]}"
exit 1
