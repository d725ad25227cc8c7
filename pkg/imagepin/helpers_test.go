package imagepin

import (
	"crypto/tls"
	"crypto/x509"
	"testing"
)

func httptestTLS(t testing.TB, caPEM string) *tls.Config {
	t.Helper()
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM([]byte(caPEM)) {
		t.Fatal("bad CA")
	}
	return &tls.Config{RootCAs: pool}
}
