// Package tracing sets up OpenTelemetry traces for `tollgate serve`: an
// OTLP/gRPC exporter behind a batch span processor, a parent-based ratio
// sampler and a resource naming the service. Tracing is off unless an
// endpoint is given. Off, no provider exists: the handlers hold a nil
// tracer and start no span, so an untraced request costs nothing extra.
//
// Only the composition root (pkg/cli, pkg/server) imports this package; the
// decision packages never see OpenTelemetry.
package tracing

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net"
	"net/http"
	"net/url"
	"strconv"

	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracegrpc"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
	"go.opentelemetry.io/otel/trace"
)

// Scope is the instrumentation scope of every Tollgate span.
const Scope = "github.com/tollgate-dev/tollgate"

// Options configure tracing; the zero value is off.
type Options struct {
	// Endpoint is the OTLP/gRPC collector: host:port or http://host:port
	// for plaintext (as the API server's own tracing config), https://host:port
	// for TLS. Empty turns tracing off.
	Endpoint string
	// SampleRatio is the share of requests traced when the caller sent no
	// trace context; a sampled or unsampled parent (the API server's
	// traceparent) is always followed.
	SampleRatio float64
	// Version is reported as service.version.
	Version string
}

// Enabled reports whether opts turn tracing on.
func (o Options) Enabled() bool { return o.Endpoint != "" }

// Validate checks the endpoint's shape and the ratio's range, so a typo
// fails `tollgate serve` at start rather than losing every span quietly.
func (o Options) Validate() error {
	if err := CheckSampleRatio(o.SampleRatio); err != nil {
		return fmt.Errorf("tracing sample ratio: %w", err)
	}
	if !o.Enabled() {
		return nil
	}
	if err := CheckEndpoint(o.Endpoint); err != nil {
		return fmt.Errorf("tracing endpoint: %w", err)
	}
	return nil
}

// CheckSampleRatio accepts a share from 0 to 1.
func CheckSampleRatio(r float64) error {
	if math.IsNaN(r) || r < 0 || r > 1 {
		return fmt.Errorf("%v is not between 0 and 1", r)
	}
	return nil
}

// CheckEndpoint accepts host:port, http://host:port and https://host:port.
func CheckEndpoint(s string) error {
	_, _, err := endpoint(s)
	return err
}

// endpoint splits an Endpoint into host:port and whether to use TLS.
func endpoint(s string) (hostPort string, useTLS bool, err error) {
	hostPort = s
	if u, perr := url.Parse(s); perr == nil && (u.Scheme == "http" || u.Scheme == "https") {
		if u.Path != "" && u.Path != "/" || u.RawQuery != "" || u.User != nil {
			return "", false, fmt.Errorf("%q: want host:port or http(s)://host:port, with no path, query or credentials", s)
		}
		hostPort, useTLS = u.Host, u.Scheme == "https"
	}
	host, port, err := net.SplitHostPort(hostPort)
	if err != nil {
		return "", false, fmt.Errorf("%q: want host:port (the OTLP/gRPC port is usually 4317)", s)
	}
	if host == "" {
		return "", false, fmt.Errorf("%q: no host", s)
	}
	if n, err := strconv.ParseUint(port, 10, 16); err != nil || n == 0 {
		return "", false, fmt.Errorf("%q: port %q is not a number from 1 to 65535", s, port)
	}
	return hostPort, useTLS, nil
}

// Provider owns the SDK tracer provider: its exporter, batch processor and
// sampler. A nil *Provider is tracing off.
type Provider struct {
	sdk *sdktrace.TracerProvider
}

// Start builds the OTLP exporter and the provider for opts; it returns nil
// when tracing is off. Nothing is dialled yet: the exporter connects in the
// background, and export errors go to the OpenTelemetry error handler.
//
// Only when tracing is on are the standard OTEL_* variables read: the
// exporter's (OTEL_EXPORTER_OTLP_HEADERS, _CERTIFICATE, _COMPRESSION,
// _TIMEOUT, and their _TRACES_ forms), the batch processor's OTEL_BSP_*,
// OTEL_SPAN_* limits, OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES.
// The flags win over OTEL_EXPORTER_OTLP_ENDPOINT and OTEL_TRACES_SAMPLER.
func Start(ctx context.Context, opts Options) (*Provider, error) {
	if !opts.Enabled() {
		return nil, nil
	}
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	hostPort, useTLS, _ := endpoint(opts.Endpoint)
	eo := []otlptracegrpc.Option{otlptracegrpc.WithEndpoint(hostPort)}
	if !useTLS {
		eo = append(eo, otlptracegrpc.WithInsecure())
	}
	exp, err := otlptracegrpc.New(ctx, eo...)
	if err != nil {
		return nil, fmt.Errorf("create OTLP trace exporter: %w", err)
	}
	p, err := New(ctx, opts, exp)
	if err != nil {
		return nil, errors.Join(err, exp.Shutdown(ctx))
	}
	return p, nil
}

// New builds a provider exporting through exp; Start uses the OTLP exporter,
// tests an in-memory one.
func New(ctx context.Context, opts Options, exp sdktrace.SpanExporter) (*Provider, error) {
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	version := opts.Version
	if version == "" {
		version = "unknown"
	}
	// Later options win: OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES may
	// rename the service, as operators expect of any OpenTelemetry SDK.
	res, err := resource.New(ctx,
		resource.WithTelemetrySDK(),
		resource.WithAttributes(semconv.ServiceName("tollgate"), semconv.ServiceVersion(version)),
		resource.WithFromEnv(),
	)
	if err != nil {
		return nil, fmt.Errorf("build tracing resource: %w", err)
	}
	return &Provider{sdk: sdktrace.NewTracerProvider(
		sdktrace.WithBatcher(exp),
		sdktrace.WithResource(res),
		sdktrace.WithSampler(sdktrace.ParentBased(sdktrace.TraceIDRatioBased(opts.SampleRatio))),
	)}, nil
}

// Tracer is what the webhook handlers start spans with; nil when off.
func (p *Provider) Tracer() trace.Tracer {
	if p == nil {
		return nil
	}
	return p.sdk.Tracer(Scope)
}

// Shutdown exports the spans still queued and stops the exporter; call it on
// exit with a bounded context. A nil Provider has nothing to do.
func (p *Provider) Shutdown(ctx context.Context) error {
	if p == nil {
		return nil
	}
	if err := p.sdk.Shutdown(ctx); err != nil {
		return fmt.Errorf("flush traces: %w", err)
	}
	return nil
}

// Propagate reads the W3C trace context (traceparent, tracestate) the API
// server sends with admission requests when its own tracing is on, so
// Tollgate's spans join the API server's trace. Wrap the webhook handlers
// with it only when tracing is on.
func Propagate(next http.Handler) http.Handler {
	prop := propagation.TraceContext{}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := prop.Extract(r.Context(), propagation.HeaderCarrier(r.Header))
		next.ServeHTTP(w, r.WithContext(ctx))
	})
}
