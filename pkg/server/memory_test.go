package server

import (
	"testing"
	"testing/fstest"
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
