package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net/http"
	"os"
	"os/signal"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/tollgate-dev/tollgate/test/bench/workload"
	"github.com/tollgate-dev/tollgate/test/harness"
)

func resourceZero() *resource.Quantity { return resource.NewQuantity(0, resource.DecimalSI) }

// cell is one measured set of Pod creates.
type cell struct {
	hook, mode string
	conc       int
	lat        []time.Duration // sorted
	errors     int
	firstErr   string
	// The API server's own timing of its calls to Tollgate's two webhooks
	// (apiserver_admission_webhook_admission_duration_seconds, summed over
	// both): calls at or under each bucket bound, and all calls.
	apiLE    map[float64]float64
	apiCalls float64
	// Tollgate's side, for cells with the webhook: mean handler time per
	// path (controller-runtime's latency histogram) and CPU per create.
	serverMs     map[string]float64
	cpuPerCreate time.Duration
	rounds       int
}

// serverMean is the mean of controller_runtime_webhook_latency_seconds per
// webhook path between two scrapes, in ms.
func serverMean(before, after string) map[string]float64 {
	read := func(text string) (sum, count map[string]float64) {
		sum, count = map[string]float64{}, map[string]float64{}
		for _, line := range strings.Split(text, "\n") {
			if path, v, ok := harness.WebhookSample(line, "controller_runtime_webhook_latency_seconds_sum"); ok {
				sum[path] = v
			} else if path, v, ok := harness.WebhookSample(line, "controller_runtime_webhook_latency_seconds_count"); ok {
				count[path] = v
			}
		}
		return sum, count
	}
	s0, c0 := read(before)
	s1, c1 := read(after)
	out := map[string]float64{}
	for path := range s1 {
		if n := c1[path] - c0[path]; n > 0 {
			out[path] = 1000 * (s1[path] - s0[path]) / n
		}
	}
	return out
}

func (c cell) pct(p float64) time.Duration {
	return result{Latencies: c.lat}.pct(p)
}

func cmdE2E(args []string) error {
	fs := flag.NewFlagSet("e2e", flag.ExitOnError)
	conc := fs.String("concurrency", "1,10,100", "concurrencies")
	count := fs.Int("creates", 300, "Pod creates per cell and round")
	rounds := fs.Int("rounds", 2, "rounds; each runs the no-webhook and the Tollgate cell back to back, alternating which goes first")
	cellTimeout := fs.Duration("cell-timeout", 2*time.Minute, "time bound per cell")
	rssNamespaces := fs.Int("rss-namespaces", 5000, "namespaces (each with 2 LimitRanges and 2 quotas) to create before reading Tollgate's RSS; 0 skips")
	latency := fs.Bool("latency", true, "measure Pod create latency; false runs only the RSS part (the webhooks are still registered, so the RSS probes go through Tollgate)")
	md := fs.String("markdown", "", "also write the tables to this file")
	tgEnv := fs.String("tollgate-env", "", "comma-separated VAR=value pairs for the tollgate process, e.g. GOMEMLIMIT=80MiB")
	_ = fs.Parse(args)
	for _, kv := range strings.Split(*tgEnv, ",") {
		if k, v, ok := strings.Cut(strings.TrimSpace(kv), "="); ok {
			_ = os.Setenv(k, v) // inherited by the tollgate child only: this process is already running
		}
	}
	var concs []int
	for _, c := range strings.Split(*conc, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(c))
		if err != nil || n < 1 {
			return fmt.Errorf("bad -concurrency %q", *conc)
		}
		concs = append(concs, n)
	}
	slog.SetDefault(slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn})))
	ctx, cancel := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer cancel()
	defer harness.StopAll()

	begin := time.Now()
	c, err := startCluster(ctx)
	if err != nil {
		return err
	}
	defer c.cp.Stop()
	tg, err := c.startTollgate(ctx)
	if err != nil {
		return err
	}
	defer tg.Stop()
	fmt.Fprintf(os.Stderr, "e2e: control plane and tollgate up in %s\n", time.Since(begin).Round(time.Millisecond))

	// The webhooks stay registered throughout; "none" cells run in a
	// namespace their selector leaves out (the chart's ignore label), so the
	// two kinds of cell can alternate on one API server, and drift in its
	// state or in the machine's load hits both alike.
	if err := c.register(ctx, tg); err != nil {
		return err
	}
	var cells []cell
	if *latency {
		for _, mode := range []string{"dry-run", "create"} {
			for _, n := range concs {
				for round := range *rounds {
					order := []string{"none", "tollgate"}
					if round%2 == 1 {
						order = []string{"tollgate", "none"}
					}
					for _, hook := range order {
						r, err := c.latencyCell(ctx, tg, hook, mode, n, round, *count, *cellTimeout)
						if err != nil {
							return err
						}
						cells = mergeCell(cells, r)
						fmt.Fprintf(os.Stderr, "  round %d webhook=%-8s %-7s c=%-3d p50 %s p99 %s errors %d %s\n", round+1, hook, mode, n, ms(r.pct(50)), ms(r.pct(99)), r.errors, r.firstErr)
					}
				}
			}
		}
	}
	var out string
	if *latency {
		out = e2eTable(cells, *count)
	}

	if *rssNamespaces > 0 {
		t, err := rssRun(ctx, c, tg, *rssNamespaces)
		if err != nil {
			return err
		}
		out += t
	}
	fmt.Print(out)
	if *md != "" {
		return os.WriteFile(*md, []byte(out), 0o644)
	}
	return nil
}

// creates makes count workload Pods (Good: it passes the in-tree quota
// plugin without Tollgate's defaults too) with n workers and returns the
// latency of each create.
func creates(ctx context.Context, c *cluster, ns, mode string, n, count int, timeout time.Duration) cell {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	var opts metav1.CreateOptions
	if mode == "dry-run" {
		opts.DryRun = []string{metav1.DryRunAll}
	}
	pods := []*corev1.Pod{workload.Pod(workload.Good, ns, ""), workload.Pod(workload.Good, ns, "")}
	for _, p := range pods {
		p.GenerateName = "checkout-"
		p.UID = ""
	}
	var (
		next     atomic.Int64
		mu       sync.Mutex
		lat      []time.Duration
		errs     int
		firstErr string
		wg       sync.WaitGroup
	)
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var local []time.Duration
			for ctx.Err() == nil {
				i := next.Add(1)
				if int(i) > count {
					break
				}
				start := time.Now()
				_, err := c.client.CoreV1().Pods(ns).Create(ctx, pods[i%2], opts)
				d := time.Since(start)
				if err != nil {
					mu.Lock()
					errs++
					if firstErr == "" {
						firstErr = err.Error()
					}
					mu.Unlock()
					continue
				}
				local = append(local, d)
			}
			mu.Lock()
			lat = append(lat, local...)
			mu.Unlock()
		}()
	}
	wg.Wait()
	slices.Sort(lat)
	return cell{mode: mode, conc: n, lat: lat, errors: errs, firstErr: firstErr}
}

func e2eTable(cells []cell, count int) string {
	var b strings.Builder
	fmt.Fprintf(&b, "\nPod create latency through kube-apiserver %s on 127.0.0.1 (%d creates per cell and round, rounds alternating which goes first; client-side, ms; added = Tollgate minus no webhook, per percentile). "+
		"The API server's columns are its own timing of each call to Tollgate's two webhooks (two calls per create), from its histogram, whose smallest bucket is 5 ms.\n\n", harness.ControlPlaneVersion, count)
	fmt.Fprintln(&b, "| mode | concurrency | creates | no webhook p50 | no webhook p99 | tollgate p50 | tollgate p99 | added p50 | added p99 | API server's call to Tollgate: p99 | calls ≤ 5 ms | tollgate handler mean, mutate / validate | tollgate CPU per create | errors (none/tollgate) |")
	fmt.Fprintln(&b, "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|")
	find := func(hook, mode string, n int) *cell {
		for i := range cells {
			if cells[i].hook == hook && cells[i].mode == mode && cells[i].conc == n {
				return &cells[i]
			}
		}
		return nil
	}
	for _, c := range cells {
		if c.hook != "none" {
			continue
		}
		t := find("tollgate", c.mode, c.conc)
		if t == nil {
			continue
		}
		p99, under5 := t.apiP99()
		fmt.Fprintf(&b, "| %s | %d | %d/%d | %s | %s | %s | %s | %s | %s | %s | %s | %.3f / %.3f | %s | %d/%d |\n", c.mode, c.conc, len(c.lat), len(t.lat),
			ms(c.pct(50)), ms(c.pct(99)), ms(t.pct(50)), ms(t.pct(99)),
			ms(t.pct(50)-c.pct(50)), ms(t.pct(99)-c.pct(99)), p99, under5,
			t.serverMs["/mutate-v1-pod"], t.serverMs["/validate-v1-pod"], ms(t.cpuPerCreate), c.errors, t.errors)
	}
	return b.String()
}

// rssRun creates n namespaces with 2 LimitRanges and 2 quotas each (quota
// status included), waits for Tollgate's cache to hold them, sends some
// dry-run creates across them and reads Tollgate's RSS.
func rssRun(ctx context.Context, c *cluster, tg *harness.Tollgate, n int) (string, error) {
	pid := tg.Process().PID
	rss0, _, err := vmRSS(pid)
	if err != nil {
		return "", err
	}
	begin := time.Now()
	ctx, cancel := context.WithTimeout(ctx, 10*time.Minute)
	defer cancel()
	var (
		next     atomic.Int64
		wg       sync.WaitGroup
		mu       sync.Mutex
		firstErr error
	)
	for range 32 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil {
				i := int(next.Add(1))
				if i > n {
					return
				}
				if err := c.seedSmall(ctx, fmt.Sprintf("rss-%05d", i)); err != nil {
					mu.Lock()
					if firstErr == nil {
						firstErr = err
					}
					mu.Unlock()
					cancel()
					return
				}
			}
		}()
	}
	wg.Wait()
	if firstErr != nil {
		return "", firstErr
	}
	created := time.Since(begin)
	// Let the informers catch up, then touch a spread of namespaces.
	last := fmt.Sprintf("rss-%05d", n)
	var lastErr error
	pollCtx, pollCancel := context.WithTimeout(ctx, 2*time.Minute)
	defer pollCancel()
	if err := harness.Poll(pollCtx, 500*time.Millisecond, func(ctx context.Context) (bool, error) {
		p := workload.Pod(workload.Good, last, "probe")
		p.UID = ""
		_, lastErr = c.client.CoreV1().Pods(last).Create(ctx, p, metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}})
		return lastErr == nil, nil
	}); err != nil {
		return "", fmt.Errorf("namespace %s never admitted a Pod: %w (last: %v)", last, err, lastErr)
	}
	time.Sleep(3 * time.Second)
	for i := 1; i <= 200; i++ {
		ns := fmt.Sprintf("rss-%05d", 1+(i*7919)%n)
		p := workload.Pod(workload.NeedsDefaults, ns, "probe")
		p.UID = ""
		_, _ = c.client.CoreV1().Pods(ns).Create(ctx, p, metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}})
	}
	rss, hwm, err := vmRSS(pid)
	if err != nil {
		return "", err
	}
	// Raw values; the GC settings are the effective ones, which Tollgate
	// chooses itself when GOGC and GOMEMLIMIT are unset.
	heap := map[string]float64{}
	if text, err := scrape(tg.MetricsURL); err == nil {
		for _, line := range strings.Split(text, "\n") {
			for _, name := range []string{"go_memstats_heap_alloc_bytes", "go_memstats_heap_inuse_bytes", "go_memstats_next_gc_bytes", "go_memstats_sys_bytes", "go_gc_gogc_percent", "go_gc_gomemlimit_bytes"} {
				if strings.HasPrefix(line, name+" ") {
					heap[name], _ = strconv.ParseFloat(strings.TrimSpace(strings.TrimPrefix(line, name)), 64)
				}
			}
		}
	}
	mib := func(name string) float64 { return heap[name] / (1 << 20) }
	memLimit := "none"
	if v, ok := heap["go_gc_gomemlimit_bytes"]; ok && v < 1<<62 {
		memLimit = fmt.Sprintf("%.0fMiB", mib("go_gc_gomemlimit_bytes"))
	}
	nss, err := c.client.CoreV1().Namespaces().List(ctx, metav1.ListOptions{})
	if err != nil {
		return "", err
	}
	lrs, err := c.client.CoreV1().LimitRanges("").List(ctx, metav1.ListOptions{})
	if err != nil {
		return "", err
	}
	qs, err := c.client.CoreV1().ResourceQuotas("").List(ctx, metav1.ListOptions{})
	if err != nil {
		return "", err
	}
	var b strings.Builder
	fmt.Fprintf(&b, "\nTollgate memory with %d namespaces, %d LimitRanges and %d ResourceQuotas (with status) in the cluster (the %d rss-* namespaces created in %s)\n\n",
		len(nss.Items), len(lrs.Items), len(qs.Items), n, created.Round(time.Second))
	fmt.Fprintln(&b, "| RSS before (MiB) | RSS after (VmRSS, MiB) | peak (VmHWM, MiB) | heap alloc | heap in use | next GC at | Go sys | GOGC / GOMEMLIMIT in effect (env) |")
	fmt.Fprintln(&b, "|---:|---:|---:|---:|---:|---:|---:|---|")
	fmt.Fprintf(&b, "| %.1f | %.1f | %.1f | %.1f | %.1f | %.1f | %.1f | %.0f / %s (%s / %s) |\n", rss0, rss, hwm,
		mib("go_memstats_heap_alloc_bytes"), mib("go_memstats_heap_inuse_bytes"), mib("go_memstats_next_gc_bytes"), mib("go_memstats_sys_bytes"),
		heap["go_gc_gogc_percent"], memLimit, orDash(os.Getenv("GOGC")), orDash(os.Getenv("GOMEMLIMIT")))
	return b.String(), nil
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// seedSmall creates a namespace with 2 LimitRanges and 2 quotas (with status).
func (c *cluster) seedSmall(ctx context.Context, ns string) error {
	if _, err := c.client.CoreV1().Namespaces().Create(ctx, workload.NamespaceObject(ns), metav1.CreateOptions{}); err != nil {
		return fmt.Errorf("create namespace %s: %w", ns, err)
	}
	for _, lr := range workload.LimitRanges(ns)[:2] {
		if _, err := c.client.CoreV1().LimitRanges(ns).Create(ctx, &lr, metav1.CreateOptions{}); err != nil {
			return fmt.Errorf("create limit range: %w", err)
		}
	}
	for _, q := range workload.Quotas(ns)[:2] {
		if err := c.createQuota(ctx, q); err != nil {
			return err
		}
	}
	return nil
}

// scrape returns the text of a metrics endpoint.
func scrape(url string) (string, error) {
	hc := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{Proxy: nil}}
	resp, err := hc.Get(url)
	if err != nil {
		return "", err
	}
	defer func() { _ = resp.Body.Close() }()
	b, err := io.ReadAll(resp.Body)
	return string(b), err
}

// ignoreLabel keeps the webhooks away from a namespace, as in the chart.
const ignoreLabel = "tollgate.dev/ignore"

// latencyCell times count Pod creates with n workers in a fresh namespace,
// through Tollgate (hook "tollgate") or past it (hook "none": the namespace
// carries the ignore label, so the API server never calls the webhooks).
func (c *cluster) latencyCell(ctx context.Context, tg *harness.Tollgate, hook, mode string, n, round, count int, timeout time.Duration) (cell, error) {
	ns := fmt.Sprintf("e2e-%s-%s-c%d-r%d", hook, mode, n, round)
	obj := workload.NamespaceObject(ns)
	if hook == "none" {
		obj.Labels[ignoreLabel] = "true"
	}
	if _, err := c.client.CoreV1().Namespaces().Create(ctx, obj, metav1.CreateOptions{}); err != nil {
		return cell{}, fmt.Errorf("create namespace %s: %w", ns, err)
	}
	if err := c.seed(ctx, ns, true); err != nil {
		return cell{}, err
	}
	if hook == "tollgate" {
		time.Sleep(500 * time.Millisecond) // the cache must hold the new namespace before the first create
	}
	// Warm-up: connections, caches, the webhook client.
	creates(ctx, c, ns, "dry-run", min(n, 10), 50, timeout)
	before, _ := scrape(tg.MetricsURL)
	apiBefore, _ := c.webhookCallBuckets(ctx)
	cpu0 := procCPU(tg.Process().PID)
	r := creates(ctx, c, ns, mode, n, count, timeout)
	r.hook, r.rounds = hook, 1
	if hook == "tollgate" {
		after, _ := scrape(tg.MetricsURL)
		r.serverMs = serverMean(before, after)
		r.cpuPerCreate = (procCPU(tg.Process().PID) - cpu0) / time.Duration(max(1, len(r.lat)))
		if apiAfter, err := c.webhookCallBuckets(ctx); err == nil {
			r.apiLE = map[float64]float64{}
			for le, v := range apiAfter {
				r.apiLE[le] = v - apiBefore[le]
			}
			r.apiCalls = r.apiLE[math.Inf(1)]
		}
	}
	return r, nil
}

// mergeCell adds r to the cell of the same webhook, mode and concurrency
// from earlier rounds, or appends it.
func mergeCell(cells []cell, r cell) []cell {
	for i := range cells {
		c := &cells[i]
		if c.hook != r.hook || c.mode != r.mode || c.conc != r.conc {
			continue
		}
		c.lat = append(c.lat, r.lat...)
		slices.Sort(c.lat)
		c.errors += r.errors
		if c.firstErr == "" {
			c.firstErr = r.firstErr
		}
		if c.serverMs == nil && r.serverMs != nil {
			c.serverMs = map[string]float64{}
		}
		for path, v := range r.serverMs { // rounds have equal counts: the mean of means is the mean
			c.serverMs[path] = (c.serverMs[path]*float64(c.rounds) + v) / float64(c.rounds+1)
		}
		c.cpuPerCreate = (c.cpuPerCreate*time.Duration(c.rounds) + r.cpuPerCreate) / time.Duration(c.rounds+1)
		if c.apiLE == nil && r.apiLE != nil {
			c.apiLE = map[float64]float64{}
		}
		for le, v := range r.apiLE {
			c.apiLE[le] += v
		}
		c.apiCalls += r.apiCalls
		c.rounds++
		return cells
	}
	return append(cells, r)
}

// webhookCallBuckets reads the API server's histogram of its calls to
// Tollgate's two webhooks, summed over both and over every label but le.
func (c *cluster) webhookCallBuckets(ctx context.Context) (map[float64]float64, error) {
	raw, err := c.client.CoreV1().RESTClient().Get().AbsPath("/metrics").DoRaw(ctx)
	if err != nil {
		return nil, fmt.Errorf("read kube-apiserver metrics: %w", err)
	}
	return readBuckets(string(raw), "apiserver_admission_webhook_admission_duration_seconds_bucket{", func(line string) bool {
		return strings.Contains(line, `name="pods.mutate.tollgate.dev"`) || strings.Contains(line, `name="pods.validate.tollgate.dev"`)
	}), nil
}

// apiP99 is the smallest bucket bound under which at least 99% of the API
// server's calls to Tollgate finished, as "≤ N ms", and the share of calls
// that took at most 5 ms.
func (c cell) apiP99() (bound, under5 string) {
	if c.apiCalls <= 0 {
		return "-", "-"
	}
	les := make([]float64, 0, len(c.apiLE))
	for le := range c.apiLE {
		les = append(les, le)
	}
	slices.Sort(les)
	bound = "-"
	for _, le := range les {
		if c.apiLE[le] >= 0.99*c.apiCalls {
			if math.IsInf(le, 1) {
				bound = "> last bucket"
			} else {
				bound = fmt.Sprintf("≤ %g", le*1000)
			}
			break
		}
	}
	return bound, fmt.Sprintf("%.1f%%", 100*c.apiLE[0.005]/c.apiCalls)
}
