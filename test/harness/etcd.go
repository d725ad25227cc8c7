package harness

import (
	"context"
	"fmt"
	"net/http"
	"path/filepath"
	"time"
)

// startEtcd runs a single-member etcd on loopback with fsync off (the data
// dir is thrown away anyway).
func startEtcd(ctx context.Context, dir string) (*Process, string, error) {
	bin, err := binary("etcd")
	if err != nil {
		return nil, "", err
	}
	client, err := FreePort()
	if err != nil {
		return nil, "", err
	}
	peer, err := FreePort()
	if err != nil {
		return nil, "", err
	}
	clientURL := fmt.Sprintf("http://127.0.0.1:%d", client)
	peerURL := fmt.Sprintf("http://127.0.0.1:%d", peer)
	p, err := StartProcess("etcd", dir, bin, []string{
		"--name=default",
		"--data-dir=" + filepath.Join(dir, "etcd-data"),
		"--listen-client-urls=" + clientURL,
		"--advertise-client-urls=" + clientURL,
		"--listen-peer-urls=" + peerURL,
		"--initial-advertise-peer-urls=" + peerURL,
		"--initial-cluster=default=" + peerURL,
		"--unsafe-no-fsync",
		"--log-level=warn",
	}, nil)
	if err != nil {
		return nil, "", err
	}
	hc := &http.Client{Timeout: 2 * time.Second, Transport: &http.Transport{Proxy: nil}}
	if err := waitHTTP(ctx, p, hc, clientURL+"/health", "", 60*time.Second); err != nil {
		p.Stop(5 * time.Second)
		return nil, "", err
	}
	return p, clientURL, nil
}
