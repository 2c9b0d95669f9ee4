# Plots for tools/bench.sh:  gnuplot -e "data='DIR'; out='DIR'" plots.gp
# Reads the .dat files the sections write (a missing one, from a run of
# some backends only, leaves its panel or line out) and writes
# claims-vs-clients.png, life.png and bulk-load.png into out.

have(f) = system(sprintf("test -s '%s' && echo 1 || echo 0", f)) eq "1"
label(f) = system(sprintf("sed -n '1s/^# //p' '%s'", f))

set terminal pngcairo size 1200,900 font ",10" noenhanced
set grid
set key top left Left reverse opaque
set style data linespoints

# ---- claims/s against clients, one panel per backend
set output out."/claims-vs-clients.png"
set multiplot layout 2,2 title "storagebox fused claims/s beside each baseline (same run)"
set logscale x 2
set ylabel "claims/s (baseline: requests/s)"
set yrange [0:*]

f = data."/clients-sqlite.dat"
set title "SQLite WAL, one file"
set xlabel "processes (1 client each)"
if (have(f)) {
	plot f using 1:2 title "storagebox, FULL" lw 2 pt 7 lc rgb "#1f77b4", \
	     f using 1:3 title "raw sqlite3 loop, FULL" dt 2 pt 6 lc rgb "#1f77b4", \
	     f using 1:4 title "storagebox, NORMAL" lw 2 pt 7 lc rgb "#d62728", \
	     f using 1:5 title "raw sqlite3 loop, NORMAL" dt 2 pt 6 lc rgb "#d62728"
} else { set multiplot next }

set xlabel "clients"
f = data."/clients-postgresql.dat"
set title "PostgreSQL 15"
if (have(f)) {
	plot f using 1:2 title "storagebox" lw 2 pt 7 lc rgb "#1f77b4", \
	     f using 1:3 title "pgbench prepared UPDATE by PK" dt 2 pt 6 lc rgb "#555555"
} else { set multiplot next }

f = data."/clients-redis.dat"
set title "Redis 7"
if (have(f)) {
	plot f using 1:2 title "storagebox" lw 2 pt 7 lc rgb "#1f77b4", \
	     f using 1:3 title "redis-benchmark EVALSHA 'return 1'" dt 2 pt 6 lc rgb "#555555"
} else { set multiplot next }

f = data."/clients-dynamodb.dat"
set title "DynamoDB Local"
if (have(f)) {
	plot f using 1:2 title "storagebox" lw 2 pt 7 lc rgb "#1f77b4", \
	     f using 1:3 title "GetItem loop" dt 2 pt 6 lc rgb "#555555"
}
unset multiplot
unset logscale x

# ---- the life of a bank: claims/s per tenth, relative to the first
set terminal pngcairo size 1200,600 font ",10" noenhanced
set output out."/life.png"
set title "Claims/s along the life of a bank (each tenth of the items, relative to the first tenth)"
set xlabel "share of the bank handed out (%)"
set ylabel "claims/s / claims/s of the first 10%"
set xrange [5:105]
set xtics 10
set yrange [0:*]
set key outside right top vertical Left reverse
names = "sqlite postgresql redis dynamodb"
colors = "#1f77b4 #2ca02c #d62728 #9467bd"
cmd = ""
do for [i = 1:words(names)] {
	f = data."/life-".word(names, i).".dat"
	if (have(f)) {
		cmd = cmd.(cmd eq "" ? "" : ", ").sprintf("'%s' using 1:3 title '%s' lw 2 pt 7 lc rgb '%s'", f, label(f), word(colors, i))
	}
}
if (cmd ne "") { eval("plot ".cmd.", 1 notitle dt 3 lc rgb '#999999'") }

# ---- bulk load rate
set terminal pngcairo size 1000,600 font ",10" noenhanced
set output out."/bulk-load.png"
set title "Bulk add through sb_box_add, items/s"
unset xlabel
set ylabel "items/s (log scale)"
set logscale y 10
set yrange [*:*]
set xrange [*:*]
set xtics auto
set style fill solid 0.6
set boxwidth 0.6
unset key
set bmargin 5
f = data."/bulk.dat"
if (have(f)) {
	plot f using 0:3:xticlabels(sprintf("%s\n%s items", strcol(1), strcol(2))) with boxes lc rgb "#1f77b4", \
	     f using 0:3:4 with labels offset 0,1
}
