package server

import (
	"context"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"testing"
	"testing/fstest"
	"time"
)

func TestMemoryLimit(t *testing.T) {
	const mi = 1 << 20
	v2 := func(cgroup, max string) fstest.MapFS {
		return fstest.MapFS{
			"proc/self/cgroup":                           {Data: []byte("0::" + cgroup + "\n")},
			"sys/fs/cgroup/kubepods/pod1/ctr/memory.max": {Data: []byte(max + "\n")},
			"sys/fs/cgroup/memory.max":                   {Data: []byte(max + "\n")},
		}
	}
	v1 := fstest.MapFS{
		"proc/self/cgroup": {Data: []byte("12:cpu,cpuacct:/x\n4:memory:/kubepods/pod1/ctr\n")},
		"sys/fs/cgroup/memory/kubepods/pod1/ctr/memory.limit_in_bytes": {Data: []byte("268435456\n")},
	}
	tests := []struct {
		name   string
		fsys   fstest.MapFS
		env    map[string]string
		want   int64
		errors bool
	}{
		{name: "cgroup v2 in a cgroup namespace", fsys: v2("/", "268435456"), want: 256 * mi * 9 / 10},
		{name: "cgroup v2 without a namespace", fsys: v2("/kubepods/pod1/ctr", "134217728"), want: 128 * mi * 9 / 10},
		{name: "cgroup v1", fsys: v1, want: 256 * mi * 9 / 10},
		{name: "GOMEMLIMIT wins", fsys: v1, env: map[string]string{"GOMEMLIMIT": "80MiB"}, want: 0},
		{name: "no limit (v2 max)", fsys: v2("/", "max"), want: 0},
		{name: "no limit (v1 page-rounded max int64)", fsys: fstest.MapFS{
			"proc/self/cgroup":                           {Data: []byte("4:memory:/\n")},
			"sys/fs/cgroup/memory/memory.limit_in_bytes": {Data: []byte("9223372036854771712\n")},
		}, want: 0},
		{name: "not Linux", fsys: fstest.MapFS{}, want: 0},
		{name: "garbage", fsys: v2("/", "lots"), errors: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := memoryLimit(tt.fsys, func(k string) string { return tt.env[k] })
			if (err != nil) != tt.errors {
				t.Fatalf("error = %v, want error %v", err, tt.errors)
			}
			if got != tt.want {
				t.Errorf("limit = %d, want %d", got, tt.want)
			}
		})
	}
}

func TestGCPercentFor(t *testing.T) {
	const mib = 1 << 20
	for _, tc := range []struct {
		name string
		live uint64
		want int
	}{
		{"nothing measured yet", 0, maxGCPercent},
		{"tiny heap waits no longer than 4x its size", 2 * mib, maxGCPercent},
		{"small cluster: 16 MiB headroom over 10 MiB", 10 * mib, 160},
		{"headroom equals live heap", 16 * mib, 100},
		{"5,000 namespaces: about 22 MiB live", 22 * mib, 72},
		{"large cache keeps half its size as headroom", 200 * mib, minGCPercent},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := gcPercentFor(tc.live); got != tc.want {
				t.Errorf("gcPercentFor(%d MiB) = %d, want %d", tc.live/mib, got, tc.want)
			}
		})
	}
}

// TestPaceGCSetsPercent runs the pacer briefly and reads the percent it set
// back (SetGCPercent returns the previous value), then restores Go's.
func TestPaceGCSetsPercent(t *testing.T) {
	prev := debug.SetGCPercent(100)
	defer debug.SetGCPercent(prev)
	runtime.GC() // so the live-heap metric has a value

	sample := []metrics.Sample{{Name: liveHeapMetric}}
	metrics.Read(sample)
	if sample[0].Value.Kind() != metrics.KindUint64 {
		t.Fatalf("runtime metric %s not supported", liveHeapMetric)
	}
	want := gcPercentFor(sample[0].Value.Uint64())

	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { paceGC(ctx, time.Hour); close(done) }()
	deadline := time.Now().Add(5 * time.Second)
	for {
		got := debug.SetGCPercent(100)
		if got != 100 || time.Now().After(deadline) {
			cancel()
			<-done
			// The test's own allocations may move the live heap a little.
			if got < want*9/10 || got > want*11/10 {
				t.Fatalf("GC percent = %d after pacing, want about %d (live heap %d bytes)", got, want, sample[0].Value.Uint64())
			}
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
}
