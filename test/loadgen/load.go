package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tollgate-dev/tollgate/test/bench/workload"
)

// loadSpec is one load run against one target.
type loadSpec struct {
	Concurrency int           // closed loop: workers that send the next request when the last one answered
	Rate        float64       // open loop when > 0: requests per second, latency counted from the scheduled time
	Duration    time.Duration // stop after this long
	MaxRequests int           // and after this many requests
	HTTP1       bool          // HTTP/1.1 keep-alive, one connection per worker (what kube-apiserver uses for Service webhooks)
}

// result is what one run measured.
type result struct {
	Target    string
	Mode      string
	Requests  int
	Errors    int // transport errors and non-200 answers
	Wrong     int // answers with the wrong verdict
	Late      int // open loop: requests that could not even be sent on time (all workers busy)
	Elapsed   time.Duration
	Latencies []time.Duration // sorted
	ServerCPU time.Duration   // CPU the server process used during the run, when known
	ServerP99 time.Duration   // the server's own p99 request duration, when it exports one
}

func (r result) throughput() float64 {
	if r.Elapsed <= 0 {
		return 0
	}
	return float64(r.Requests) / r.Elapsed.Seconds()
}

func (r result) pct(p float64) time.Duration {
	if len(r.Latencies) == 0 {
		return 0
	}
	i := int(p/100*float64(len(r.Latencies))+0.5) - 1
	i = max(0, min(i, len(r.Latencies)-1))
	return r.Latencies[i]
}

// newClient makes an HTTP client that trusts caPEM and speaks HTTP/2
// (multiplexed on one connection) or HTTP/1.1 with a connection per worker.
func newClient(caPEM []byte, http1 bool, conns int) (*http.Client, error) {
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(caPEM) {
		return nil, fmt.Errorf("no CA certificate in the given PEM")
	}
	tlsCfg := &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	if http1 {
		tlsCfg.NextProtos = []string{"http/1.1"}
		return &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{
			Proxy: nil, TLSClientConfig: tlsCfg, MaxIdleConnsPerHost: conns, MaxConnsPerHost: conns,
			ForceAttemptHTTP2: false, TLSNextProto: map[string]func(string, *tls.Conn) http.RoundTripper{},
		}}, nil
	}
	tr := &http.Transport{Proxy: nil, TLSClientConfig: tlsCfg, ForceAttemptHTTP2: true, MaxIdleConnsPerHost: 1}
	tr.Protocols = new(http.Protocols)
	tr.Protocols.SetHTTP2(true)
	return &http.Client{Timeout: 10 * time.Second, Transport: tr}, nil
}

var (
	allowedTrue  = []byte(`"allowed":true`)
	allowedFalse = []byte(`"allowed":false`)
)

// send posts one review and checks the verdict; ok=false means an error.
func send(ctx context.Context, c *http.Client, base string, r workload.Request, echo bool) (ok, right bool) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, base+r.Path, bytes.NewReader(r.Body))
	if err != nil {
		return false, false
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := c.Do(req)
	if err != nil {
		return false, false
	}
	body, err := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	if err != nil || resp.StatusCode != http.StatusOK {
		return false, false
	}
	want := r.WantAllowed || echo
	if want {
		return true, bytes.Contains(body, allowedTrue)
	}
	return true, bytes.Contains(body, allowedFalse)
}

// run sends the mix round-robin to base until Duration or MaxRequests.
func run(ctx context.Context, c *http.Client, base string, mix []workload.Request, echo bool, s loadSpec) result {
	ctx, cancel := context.WithTimeout(ctx, s.Duration)
	defer cancel()
	var (
		next    atomic.Int64 // index of the next request
		errs    atomic.Int64
		wrong   atomic.Int64
		late    atomic.Int64
		mu      sync.Mutex
		samples = make([]time.Duration, 0, min(s.MaxRequests, 1<<20))
	)
	take := func() (workload.Request, bool) {
		n := next.Add(1)
		if int(n) > s.MaxRequests {
			return workload.Request{}, false
		}
		return mix[int(n-1)%len(mix)], true
	}
	record := func(local []time.Duration) {
		mu.Lock()
		samples = append(samples, local...)
		mu.Unlock()
	}
	one := func(r workload.Request, from time.Time, local *[]time.Duration) {
		ok, right := send(ctx, c, base, r, echo)
		if ctx.Err() != nil {
			return // cut off by the deadline: neither a sample nor an error
		}
		switch {
		case !ok:
			errs.Add(1)
		case !right:
			wrong.Add(1)
		}
		*local = append(*local, time.Since(from))
	}

	begin := time.Now()
	var wg sync.WaitGroup
	if s.Rate <= 0 {
		for range s.Concurrency {
			wg.Add(1)
			go func() {
				defer wg.Done()
				local := make([]time.Duration, 0, 4096)
				for ctx.Err() == nil {
					r, ok := take()
					if !ok {
						break
					}
					one(r, time.Now(), &local)
				}
				record(local)
			}()
		}
	} else {
		// Open loop: a scheduler hands out send times at the fixed rate;
		// latency runs from the scheduled time, so queueing is counted.
		slots := make(chan time.Time, s.Concurrency)
		for range s.Concurrency {
			wg.Add(1)
			go func() {
				defer wg.Done()
				local := make([]time.Duration, 0, 4096)
				for at := range slots {
					r, ok := take()
					if !ok {
						break
					}
					one(r, at, &local)
				}
				record(local)
			}()
		}
		interval := time.Duration(float64(time.Second) / s.Rate)
	schedule:
		for i := 0; i < s.MaxRequests; i++ {
			at := begin.Add(time.Duration(i) * interval)
			if d := time.Until(at); d > 0 {
				select {
				case <-ctx.Done():
					break schedule
				case <-time.After(d):
				}
			}
			select {
			case slots <- at:
			default:
				late.Add(1)
			}
			if ctx.Err() != nil {
				break
			}
		}
		close(slots)
	}
	wg.Wait()
	elapsed := time.Since(begin)
	slices.Sort(samples)
	mode := fmt.Sprintf("closed c=%d", s.Concurrency)
	if s.Rate > 0 {
		mode = fmt.Sprintf("open %.0f/s", s.Rate)
	}
	return result{Mode: mode, Requests: len(samples), Errors: int(errs.Load()), Wrong: int(wrong.Load()), Late: int(late.Load()), Elapsed: elapsed, Latencies: samples}
}
