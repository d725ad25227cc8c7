package main

import (
	"context"
	"crypto/tls"
	"flag"
	"fmt"
	"log/slog"
	"math"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/tollgate-dev/tollgate/test/bench/workload"
	"github.com/tollgate-dev/tollgate/test/harness"
)

// target is a webhook server under load.
type target struct {
	name string
	url  string
	ca   []byte
	pid  int
	echo bool // answers allowed to everything
	stop func()
	// metricsURL, when set, is scraped around each run for the server's
	// own request duration histogram.
	metricsURL string
}

type httpOpts struct {
	targets  []string
	conc     []int
	duration time.Duration
	requests int
	warmup   time.Duration
	rate80   bool
	pin      bool
	http1    bool
	markdown string
}

func cmdHTTP(args []string) error {
	fs := flag.NewFlagSet("http", flag.ExitOnError)
	targets := fs.String("targets", "echo,tollgate", "comma-separated: echo (the floor), tollgate (handlers in a child process over in-memory workload facts), serve (bin/tollgate serve against a local control plane)")
	conc := fs.String("concurrency", "1,16,64", "closed-loop concurrencies to run")
	duration := fs.Duration("duration", 10*time.Second, "time bound per run")
	requests := fs.Int("requests", 500000, "request bound per run")
	warmup := fs.Duration("warmup", 2*time.Second, "warm-up per target at concurrency 16 (not reported)")
	rate80 := fs.Bool("rate80", true, "also run open loop at 80% of each target's best closed-loop throughput (latency at 80% of max)")
	pin := fs.Bool("pin", false, "servers on CPU 1 with GOMAXPROCS=1, this load generator on CPU 0 (needs taskset and 2 CPUs; only on a quiet machine)")
	http1 := fs.Bool("http1", false, "HTTP/1.1 keep-alive, a connection per worker, instead of HTTP/2")
	md := fs.String("markdown", "", "also write the table to this file")
	_ = fs.Parse(args)
	o := httpOpts{targets: strings.Split(*targets, ","), duration: *duration, requests: *requests, warmup: *warmup, rate80: *rate80, pin: *pin, http1: *http1, markdown: *md}
	for _, c := range strings.Split(*conc, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(c))
		if err != nil || n < 1 {
			return fmt.Errorf("bad -concurrency %q", *conc)
		}
		o.conc = append(o.conc, n)
	}
	slog.SetDefault(slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn})))

	ctx, cancel := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer cancel()
	defer harness.StopAll()
	dir, err := os.MkdirTemp("", "tollgate-loadgen-")
	if err != nil {
		return err
	}
	defer func() { _ = os.RemoveAll(dir) }()
	if o.pin {
		if err := pinPID(os.Getpid(), "0"); err != nil {
			fmt.Fprintln(os.Stderr, "loadgen: not pinning:", err)
			o.pin = false
		}
	}

	// The bodies: every kind's mutating review and its validating review
	// after defaults, computed by Tollgate's own pipeline in memory.
	h, err := workload.NewHandlers(ctx, workload.NewFacts(false))
	if err != nil {
		return err
	}
	mix, err := workload.Mix(ctx, h.Pipeline, workload.Namespace)
	if err != nil {
		return err
	}

	var results []result
	for _, name := range o.targets {
		t, err := startTarget(ctx, strings.TrimSpace(name), dir, o.pin)
		if err != nil {
			return fmt.Errorf("start %s: %w", name, err)
		}
		rs, err := loadTarget(ctx, t, mix, o)
		t.stop()
		if err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		results = append(results, rs...)
	}
	table := httpTable(results, o)
	fmt.Print(table)
	if o.markdown != "" {
		return os.WriteFile(o.markdown, []byte(table), 0o644)
	}
	return nil
}

func loadTarget(ctx context.Context, t *target, mix []workload.Request, o httpOpts) ([]result, error) {
	maxConc := 1
	for _, c := range o.conc {
		maxConc = max(maxConc, c)
	}
	client, err := newClient(t.ca, o.http1, maxConc)
	if err != nil {
		return nil, err
	}
	defer client.CloseIdleConnections()
	// Every request of the mix once, checked, before anything is timed.
	for _, r := range mix {
		ok, right := send(ctx, client, t.url, r, t.echo)
		if !ok || !right {
			return nil, fmt.Errorf("%s %s: wrong answer before the run (ok=%v right=%v)", r.Kind, r.Path, ok, right)
		}
	}
	if o.warmup > 0 {
		run(ctx, client, t.url, mix, t.echo, loadSpec{Concurrency: 16, Duration: o.warmup, MaxRequests: o.requests})
	}
	var out []result
	best := 0.0
	for _, c := range o.conc {
		r := measure(ctx, client, t, mix, loadSpec{Concurrency: c, Duration: o.duration, MaxRequests: o.requests})
		best = max(best, r.throughput())
		out = append(out, r)
		fmt.Fprintf(os.Stderr, "  %-8s %-14s %8.0f req/s  p50 %s  p99 %s  errors %d wrong %d\n", t.name, r.Mode, r.throughput(), ms(r.pct(50)), ms(r.pct(99)), r.Errors, r.Wrong)
	}
	if o.rate80 && best > 0 {
		r := measure(ctx, client, t, mix, loadSpec{Concurrency: 256, Rate: 0.8 * best, Duration: o.duration, MaxRequests: o.requests})
		r.Mode = "open, 80% of max"
		out = append(out, r)
		fmt.Fprintf(os.Stderr, "  %-8s %-14s %8.0f req/s  p50 %s  p99 %s  errors %d wrong %d late %d\n", t.name, r.Mode, r.throughput(), ms(r.pct(50)), ms(r.pct(99)), r.Errors, r.Wrong, r.Late)
	}
	return out, nil
}

func measure(ctx context.Context, c *http.Client, t *target, mix []workload.Request, s loadSpec) result {
	cpu0 := procCPU(t.pid)
	var before string
	if t.metricsURL != "" {
		before, _ = scrape(t.metricsURL)
	}
	r := run(ctx, c, t.url, mix, t.echo, s)
	if cpu0 >= 0 {
		r.ServerCPU = procCPU(t.pid) - cpu0
	}
	if before != "" {
		if after, err := scrape(t.metricsURL); err == nil {
			r.ServerP99 = histogramQuantile(0.99, bucketDelta(before, after, "tollgate_webhook_request_duration_seconds_bucket{"))
		}
	}
	r.Target = t.name
	return r
}

// startTarget starts one server and returns it ready.
func startTarget(ctx context.Context, name, dir string, pin bool) (*target, error) {
	switch name {
	case "echo", "tollgate":
		return startChild(ctx, name, dir, pin)
	case "serve":
		return startServe(ctx, dir, pin)
	}
	return nil, fmt.Errorf("unknown target %q (want echo, tollgate or serve)", name)
}

// startChild re-executes this binary as `loadgen serve`.
func startChild(ctx context.Context, handler, dir string, pin bool) (*target, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, err
	}
	certDir := filepath.Join(dir, handler+"-certs")
	ca, err := harness.MakeWebhookCerts(certDir, []string{"127.0.0.1", "localhost"})
	if err != nil {
		return nil, err
	}
	port, err := harness.FreePort()
	if err != nil {
		return nil, err
	}
	var env []string
	if pin {
		env = append(env, "GOMAXPROCS=1")
	}
	p, err := harness.StartProcess("loadgen-"+handler, dir, exe, []string{"serve", "-handler", handler, "-port", strconv.Itoa(port), "-cert-dir", certDir}, env)
	if err != nil {
		return nil, err
	}
	t := &target{name: handler, url: fmt.Sprintf("https://127.0.0.1:%d", port), ca: ca.CertPEM, pid: p.PID, echo: handler == "echo", stop: func() { p.Stop(10 * time.Second) }}
	if pin {
		if err := pinPID(p.PID, "1"); err != nil {
			t.stop()
			return nil, err
		}
	}
	if err := waitTLS(ctx, port, 60*time.Second); err != nil {
		t.stop()
		return nil, fmt.Errorf("%w; log:\n%s", err, p.Tail(20))
	}
	return t, nil
}

func waitTLS(ctx context.Context, port int, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	return harness.Poll(ctx, 50*time.Millisecond, func(context.Context) (bool, error) {
		c, err := tls.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", port), &tls.Config{InsecureSkipVerify: true}) //nolint:gosec // readiness probe only
		if err != nil {
			return false, nil
		}
		_ = c.Close()
		return true, nil
	})
}

// pinPID moves every thread of pid to the given CPU list.
func pinPID(pid int, cpus string) error {
	out, err := exec.Command("taskset", "-a", "-p", "-c", cpus, strconv.Itoa(pid)).CombinedOutput()
	if err != nil {
		return fmt.Errorf("taskset: %v: %s", err, out)
	}
	return nil
}

// procCPU is the CPU time (user+system) pid used so far, or -1.
func procCPU(pid int) time.Duration {
	if pid <= 0 {
		return -1
	}
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return -1
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return -1
	}
	f := strings.Fields(s[i+1:])
	if len(f) < 13 {
		return -1
	}
	ut, _ := strconv.ParseInt(f[11], 10, 64)
	st, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(ut+st) * time.Second / 100 // USER_HZ is 100 on Linux
}

func ms(d time.Duration) string { return fmt.Sprintf("%.3f", float64(d)/float64(time.Millisecond)) }

// httpTable renders the results, with each row's throughput as a ratio to
// the echo floor's in the same mode.
func httpTable(rs []result, o httpOpts) string {
	var b strings.Builder
	proto := "HTTP/2"
	if o.http1 {
		proto = "HTTP/1.1"
	}
	fmt.Fprintf(&b, "\nWebhook load (%s over TLS on 127.0.0.1, mix of %d reviews: %s, mutating and validating; bound %s or %d requests per run; pinned=%v). "+
		"Latencies are client-side; server-side p99 is interpolated from tollgate serve's request duration histogram (both webhooks).\n\n",
		proto, 2*len(workload.Kinds), kindsList(), o.duration, o.requests, o.pin)
	fmt.Fprintln(&b, "| target | mode | req/s | vs echo | p50 ms | p90 ms | p99 ms | p99.9 ms | server-side p99 ms | server CPU µs/req | vs echo (CPU) | requests | errors | wrong | late |")
	fmt.Fprintln(&b, "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
	floor := map[string]float64{}
	floorCPU := map[string]float64{}
	for _, r := range rs {
		if r.Target == "echo" {
			floor[r.Mode] = r.throughput()
			floorCPU[r.Mode] = cpuPerReq(r)
		}
	}
	floorBest := 0.0
	for _, v := range floor {
		floorBest = max(floorBest, v)
	}
	for _, r := range rs {
		ratio := "-"
		if f := floor[r.Mode]; f > 0 {
			ratio = fmt.Sprintf("%.0f%%", 100*r.throughput()/f)
		}
		cpu, cpuRatio := "-", "-"
		if c := cpuPerReq(r); c > 0 {
			cpu = fmt.Sprintf("%.0f", c)
			if f := floorCPU[r.Mode]; f > 0 {
				cpuRatio = fmt.Sprintf("%.0f%%", 100*f/c)
			}
		}
		serverP99 := "-"
		if r.ServerP99 > 0 {
			serverP99 = ms(r.ServerP99)
		}
		fmt.Fprintf(&b, "| %s | %s | %.0f | %s | %s | %s | %s | %s | %s | %s | %s | %d | %d | %d | %d |\n",
			r.Target, r.Mode, r.throughput(), ratio, ms(r.pct(50)), ms(r.pct(90)), ms(r.pct(99)), ms(r.pct(99.9)), serverP99, cpu, cpuRatio, r.Requests, r.Errors, r.Wrong, r.Late)
	}
	// Max throughput per target against the echo floor's max.
	best := map[string]float64{}
	var order []string
	for _, r := range rs {
		if strings.HasPrefix(r.Mode, "open") {
			continue
		}
		if _, ok := best[r.Target]; !ok {
			order = append(order, r.Target)
		}
		best[r.Target] = max(best[r.Target], r.throughput())
	}
	if floorBest > 0 {
		fmt.Fprintln(&b, "\n| target | max req/s (closed loop) | vs echo max |")
		fmt.Fprintln(&b, "|---|---:|---:|")
		for _, t := range order {
			fmt.Fprintf(&b, "| %s | %.0f | %.0f%% |\n", t, best[t], 100*best[t]/floorBest)
		}
	}
	return b.String()
}

// cpuPerReq is the server's CPU time per answered request in µs, or 0.
func cpuPerReq(r result) float64 {
	if r.ServerCPU <= 0 || r.Requests == 0 {
		return 0
	}
	return float64(r.ServerCPU.Microseconds()) / float64(r.Requests)
}

func kindsList() string {
	s := make([]string, len(workload.Kinds))
	for i, k := range workload.Kinds {
		s[i] = string(k)
	}
	return strings.Join(s, ", ")
}

// bucketDelta sums, per bucket bound, how much the cumulative counts of the
// histogram series starting with prefix grew between two scrapes (all label
// sets together).
func bucketDelta(before, after, prefix string) map[float64]float64 {
	b, a := readBuckets(before, prefix, nil), readBuckets(after, prefix, nil)
	for le := range a {
		a[le] -= b[le]
	}
	return a
}

// readBuckets sums the cumulative counts per bucket bound of the histogram
// series in a metrics text that start with prefix and, when keep is set,
// that keep accepts.
func readBuckets(text, prefix string, keep func(line string) bool) map[float64]float64 {
	out := map[float64]float64{}
	for _, line := range strings.Split(text, "\n") {
		if !strings.HasPrefix(line, prefix) || (keep != nil && !keep(line)) {
			continue
		}
		_, rest, ok := strings.Cut(line, `le="`)
		if !ok {
			continue
		}
		leText, rest, _ := strings.Cut(rest, `"`)
		le, err := strconv.ParseFloat(leText, 64) // "+Inf" parses as +Inf
		fields := strings.Fields(rest)
		if err != nil || len(fields) == 0 {
			continue
		}
		if v, err := strconv.ParseFloat(fields[len(fields)-1], 64); err == nil {
			out[le] += v
		}
	}
	return out
}

// histogramQuantile estimates the q quantile from cumulative bucket counts
// by linear interpolation inside the bucket that holds it, as Prometheus'
// histogram_quantile does; 0 when there are no observations.
func histogramQuantile(q float64, buckets map[float64]float64) time.Duration {
	les := make([]float64, 0, len(buckets))
	for le := range buckets {
		les = append(les, le)
	}
	slices.Sort(les)
	if len(les) == 0 || buckets[les[len(les)-1]] <= 0 {
		return 0
	}
	rank := q * buckets[les[len(les)-1]]
	lower, below := 0.0, 0.0
	for _, le := range les {
		n := buckets[le]
		if n >= rank {
			if math.IsInf(le, 1) {
				return time.Duration(lower * float64(time.Second))
			}
			v := lower + (le-lower)*(rank-below)/max(n-below, 1)
			return time.Duration(v * float64(time.Second))
		}
		lower, below = le, n
	}
	return 0
}
