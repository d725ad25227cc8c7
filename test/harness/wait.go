package harness

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"net/http"
	"time"
)

// Poll calls cond every interval until it returns true, an error, or ctx ends.
func Poll(ctx context.Context, interval time.Duration, cond func(context.Context) (bool, error)) error {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		ok, err := cond(ctx)
		if err != nil {
			return err
		}
		if ok {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
		}
	}
}

// waitHTTP polls url until it answers 200, failing early if p exits.
func waitHTTP(ctx context.Context, p *Process, client *http.Client, url, token string, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	var last string
	err := Poll(ctx, 200*time.Millisecond, func(ctx context.Context) (bool, error) {
		if done, err := p.Exited(); done {
			return false, fmt.Errorf("%s exited before it was ready (%v); log %s:\n%s", p.Name, err, p.LogPath, p.Tail(3000))
		}
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if err != nil {
			return false, err
		}
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := client.Do(req)
		if err != nil {
			last = err.Error()
			return false, nil
		}
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
		_ = resp.Body.Close()
		last = fmt.Sprintf("%d %s", resp.StatusCode, body)
		return resp.StatusCode == http.StatusOK, nil
	})
	if err != nil {
		return fmt.Errorf("wait for %s at %s: %w (last answer: %s)", p.Name, url, err, last)
	}
	return nil
}

// httpClient trusts caPEM, or any certificate when caPEM is nil (used only
// for self-signed loopback health endpoints).
func httpClient(caPEM []byte) *http.Client {
	cfg := &tls.Config{MinVersion: tls.VersionTLS12}
	if caPEM == nil {
		cfg.InsecureSkipVerify = true //nolint:gosec // loopback health probe of a self-signed server
	} else {
		pool := x509.NewCertPool()
		pool.AppendCertsFromPEM(caPEM)
		cfg.RootCAs = pool
	}
	return &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{TLSClientConfig: cfg, Proxy: nil}}
}
