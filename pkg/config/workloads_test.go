package config

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/tollgate-dev/tollgate/pkg/workload"
)

const header = "apiVersion: tollgate.dev/v1alpha1\nkind: Config\n"

func TestWorkloadsDefaults(t *testing.T) {
	want := workload.Options{Enabled: true, Quota: workload.ModeWarn, Limits: workload.ModeWarn, Policies: workload.ModeWarn}
	if diff := cmp.Diff(want, Default().WorkloadOptions()); diff != "" {
		t.Errorf("Default() (-want +got):\n%s", diff)
	}
	c, err := Parse([]byte(header + "workloads: {}\n"))
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, c.WorkloadOptions()); diff != "" {
		t.Errorf("empty block (-want +got):\n%s", diff)
	}
}

func TestWorkloadsParse(t *testing.T) {
	tests := map[string]struct {
		block string
		want  workload.Options
	}{
		"disabled": {
			block: "workloads: {enabled: false}\n",
			want:  workload.Options{Enabled: false, Quota: workload.ModeWarn, Limits: workload.ModeWarn, Policies: workload.ModeWarn},
		},
		"each mode set": {
			block: "workloads: {quota: deny, limits: off, policies: deny}\n",
			want:  workload.Options{Enabled: true, Quota: workload.ModeDeny, Limits: workload.ModeOff, Policies: workload.ModeDeny},
		},
		"quoted off": {
			block: "workloads: {quota: \"off\", limits: \"off\", policies: \"off\"}\n",
			want:  workload.Options{Enabled: true, Quota: workload.ModeOff, Limits: workload.ModeOff, Policies: workload.ModeOff},
		},
		"explicit enabled with one mode": {
			block: "workloads: {enabled: true, limits: deny}\n",
			want:  workload.Options{Enabled: true, Quota: workload.ModeWarn, Limits: workload.ModeDeny, Policies: workload.ModeWarn},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			c, err := Parse([]byte(header + tc.block))
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, c.WorkloadOptions()); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestWorkloadsRejectsBadBlocks(t *testing.T) {
	tests := map[string]struct {
		block   string
		wantErr []string
	}{
		"bad quota mode":    {block: "workloads: {quota: block}\n", wantErr: []string{`workloads.quota: "block" is not one of warn, deny, off`}},
		"bad limits mode":   {block: "workloads: {limits: dryrun}\n", wantErr: []string{`workloads.limits: "dryrun"`}},
		"bad policies mode": {block: "workloads: {policies: Deny}\n", wantErr: []string{`workloads.policies: "Deny"`}},
		"every mode bad": {
			block:   "workloads: {quota: a, limits: b, policies: c}\n",
			wantErr: []string{`workloads.quota: "a"`, `workloads.limits: "b"`, `workloads.policies: "c"`},
		},
		"yes is not a mode": {block: "workloads: {quota: yes}\n", wantErr: []string{`workloads.quota: "yes" is not one of warn, deny, off`}},
		"unknown field":     {block: "workloads: {nodes: 3}\n", wantErr: []string{`unknown field "nodes"`}},
		"enabled not bool":  {block: "workloads: {enabled: maybe}\n", wantErr: []string{"decode"}},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			_, err := Parse([]byte(header + tc.block))
			if err == nil {
				t.Fatal("Parse accepted the file")
			}
			for _, want := range tc.wantErr {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error %q does not contain %q", err, want)
				}
			}
		})
	}
}
