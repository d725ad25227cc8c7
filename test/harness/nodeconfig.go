package harness

import (
	"fmt"
	"path/filepath"
)

// cniConfig is one bridge network. isGateway gives the bridge the gateway
// address; the IPAM section has no routes, so Pods get no default route.
func cniConfig(dir string) string {
	return fmt.Sprintf(`{
  "cniVersion": "1.0.0",
  "name": "tollgate-node",
  "plugins": [{
    "type": "bridge",
    "bridge": %q,
    "isGateway": true,
    "ipMasq": false,
    "hairpinMode": true,
    "ipam": {
      "type": "host-local",
      "dataDir": %q,
      "ranges": [[{"subnet": %q, "gateway": %q}]]
    }
  }]
}
`, nodeBridge, filepath.Join(dir, "ipam"), PodSubnet, NodeIP)
}

// containerdConfig keeps every file of containerd under dir, runs
// containers with runc on cgroupfs (cgroup v1), points the sandbox image at
// the locally built pause image, and lets the kubelet's oom_score_adj
// settings through although containerd itself runs in a container.
func containerdConfig(dir, sock string) string {
	return fmt.Sprintf(`version = 2
root = %q
state = %q
disabled_plugins = ["io.containerd.snapshotter.v1.aufs", "io.containerd.snapshotter.v1.btrfs", "io.containerd.snapshotter.v1.zfs", "io.containerd.snapshotter.v1.devmapper"]

[grpc]
  address = %q

[ttrpc]
  address = %q

[plugins."io.containerd.internal.v1.opt"]
  path = %q

[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = %q
  restrict_oom_score_adj = true
  stream_server_address = "127.0.0.1"
  stream_server_port = "0"
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = %q
    conf_dir = %q
    max_conf_num = 1
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        SystemdCgroup = false
`, filepath.Join(dir, "containerd", "root"), filepath.Join(dir, "containerd", "state"), sock, sock+".ttrpc",
		filepath.Join(dir, "containerd", "opt"), PauseImage, CNIBin(), filepath.Join(dir, "cni", "net.d"))
}

// kubeletConfig: cgroupfs on cgroup v1 (failCgroupV1 off), the kubelet's
// API on the node address for the API server (anonymous, local only), no
// host resolv.conf handed to Pods, and eviction and image GC thresholds low
// enough that a busy disk never evicts the test's Pods or images.
func kubeletConfig(dir, sock string, port, healthz int) string {
	return fmt.Sprintf(`apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
address: %s
port: %d
readOnlyPort: 0
healthzBindAddress: 127.0.0.1
healthzPort: %d
authentication:
  anonymous:
    enabled: true
  webhook:
    enabled: false
authorization:
  mode: AlwaysAllow
cgroupDriver: cgroupfs
failCgroupV1: false
failSwapOn: false
containerRuntimeEndpoint: unix://%s
podLogsDir: %s
resolvConf: ""
clusterDomain: cluster.local
evictionHard:
  memory.available: 1Mi
  nodefs.available: 1%%
  nodefs.inodesFree: 1%%
  imagefs.available: 1%%
imageGCHighThresholdPercent: 100
imageGCLowThresholdPercent: 99
serializeImagePulls: false
maxPods: 30
# Mounted ConfigMaps are rewritten on each Pod sync: 10 s instead of 1 min
# so a hot-reload check does not wait on the kubelet.
syncFrequency: 10s
`, NodeIP, port, healthz, sock, filepath.Join(dir, "pod-logs"))
}
