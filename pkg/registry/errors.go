package registry

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"

	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
)

// Kind classifies a registry failure. Transient kinds say nothing about the
// image: callers must never cache them or read them as "not found".
type Kind string

// The kinds, each a bounded metric label value.
const (
	KindNotSelected  Kind = "not_selected" // no registries rule selects it: never contacted
	KindInsecure     Kind = "insecure"     // plain HTTP refused (rule is not insecure)
	KindTimeout      Kind = "timeout"      // transient
	KindThrottled    Kind = "throttled"    // 429, transient
	KindUnavailable  Kind = "unavailable"  // 5xx or connection failure, transient
	KindUnauthorized Kind = "unauthorized" // 401/403: credentials missing or refused
	KindNotFound     Kind = "not_found"    // 404: no such repository, tag or manifest
	KindTLS          Kind = "tls"          // certificate not trusted or not matching
	KindInvalid      Kind = "invalid"      // the registry answered something unusable
)

// Transient reports whether a later retry may succeed with nothing changed.
func (k Kind) Transient() bool {
	return k == KindTimeout || k == KindThrottled || k == KindUnavailable
}

// Error is a failed registry operation.
type Error struct {
	Kind Kind
	// Ref is the image reference (or repository) the operation was for.
	Ref string
	Err error
}

func (e *Error) Error() string {
	switch e.Kind {
	case KindNotSelected:
		return fmt.Sprintf("registry of %s is not selected by any registries.access rule; not contacted", e.Ref)
	case KindInsecure:
		return fmt.Sprintf("%s: plain HTTP refused (set insecure: true on its registries.access rule to allow it)", e.Ref)
	}
	return fmt.Sprintf("registry %s for %s: %v", e.Kind, e.Ref, e.Err)
}

func (e *Error) Unwrap() error { return e.Err }

// KindOf returns the Kind of a registry error, or "" for other errors.
func KindOf(err error) Kind {
	var e *Error
	if errors.As(err, &e) {
		return e.Kind
	}
	return ""
}

// IsTransient reports whether err is a transient registry failure.
func IsTransient(err error) bool { return KindOf(err).Transient() }

// errInsecure is returned by the guard transport for plain HTTP requests.
var errInsecure = errors.New("plain HTTP refused")

// classify wraps err from an operation on ref into an *Error.
func classify(ref string, err error) error {
	if err == nil {
		return nil
	}
	var e *Error
	if errors.As(err, &e) {
		return err
	}
	return &Error{Kind: kindOf(err), Ref: ref, Err: err}
}

func kindOf(err error) Kind {
	var (
		terr   *transport.Error
		netErr net.Error
		opErr  *net.OpError
		unk    x509.UnknownAuthorityError
		host   x509.HostnameError
		inv    x509.CertificateInvalidError
		verify *tls.CertificateVerificationError
	)
	switch {
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, context.Canceled):
		return KindTimeout
	case errors.As(err, &terr):
		return kindOfStatus(terr.StatusCode)
	case errors.As(err, &unk), errors.As(err, &host), errors.As(err, &inv), errors.As(err, &verify):
		return KindTLS
	case errors.As(err, &netErr) && netErr.Timeout():
		return KindTimeout
	case errors.As(err, &opErr), errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, io.EOF):
		return KindUnavailable
	case errors.Is(err, errInsecure):
		// Checked last: go-containerregistry's ping also tries plain HTTP
		// for local addresses, and that refusal must not hide why https failed.
		return KindInsecure
	}
	return KindInvalid
}

func kindOfStatus(code int) Kind {
	switch {
	case code == http.StatusTooManyRequests:
		return KindThrottled
	case code == http.StatusRequestTimeout:
		return KindTimeout
	case code >= 500:
		return KindUnavailable
	case code == http.StatusUnauthorized || code == http.StatusForbidden:
		return KindUnauthorized
	case code == http.StatusNotFound:
		return KindNotFound
	}
	return KindInvalid
}
