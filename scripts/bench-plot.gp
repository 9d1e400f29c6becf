# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# Per-packet cost against rule count, from the data scripts/bench.sh writes.
#   gnuplot -e "out='bench-results/bench.png'; dir='bench-results'" scripts/bench-plot.gp
# Left: real traffic, time per packet = 1 / (UDP packets/s received), whole path
#       (iperf3 client -> veth -> node forwarding + filter -> veth -> server).
# Right: podwall's programs alone, BPF_PROG_TEST_RUN ns/packet.
if (!exists("dir")) dir = 'bench-results'
if (!exists("out")) out = dir.'/bench.png'
# techs (real-traffic blocks, in file order) and cases (test_run blocks)
load dir.'/plot-vars.gp'

set terminal pngcairo size 1400,560 font ',10' noenhanced
set output out
set multiplot layout 1,2

set logscale x 10
set format x '%.0s%c'
set grid xtics ytics mytics
set key top left box opaque
set xlabel 'rules / policy entries (log)'

# ---- left: real traffic
set title "Real traffic, whole path: ns per packet = 1e9 / (UDP 64-byte packets/s)\n(median no-filter pps of the run x median ratio filtered / unfiltered twin); lower is better"
set logscale y 10
set ylabel 'ns per packet (log)'
set xrange [5:200000]
tfile = dir.'/plot-traffic.dat'
nfile = dir.'/plot-none.dat'
if (words(techs) > 0) {
	plot for [i=1:words(techs)] tfile index (i-1) using 2:3 with linespoints lw 2 pt (i+4) ps 1.3 title word(techs, i), \
	     nfile using 1:2 with lines dt 2 lw 2 lc rgb 'black' title 'no filter'
} else {
	set label 1 'real-traffic part skipped' at graph 0.5, 0.5 center
	unset logscale y
	set yrange [0:1]
	plot NaN notitle
	unset label 1
}

# ---- right: test_run
set title "Per packet in the program: BPF_PROG_TEST_RUN ns/packet (median of runs)\npodwall to_pod; policy entries spread over many endpoints, peers and ports"
unset logscale y
set ylabel 'ns per packet'
set key outside right top vertical box opaque
set yrange [0:*]
set xrange [5:200000]
rfile = dir.'/plot-testrun.dat'
if (words(cases) > 0) {
	plot for [i=1:words(cases)] rfile index (i-1) using 2:3 with linespoints lw 2 pt (i+1) ps 1.2 \
	     title word(cases, i)
} else {
	unset key
	set label 1 'per-packet part skipped' at graph 0.5, 0.5 center
	set yrange [0:1]
	plot NaN notitle
}

unset multiplot
