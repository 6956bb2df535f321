package siteagent

import (
	"errors"
	"fmt"
)

var (
	// ErrUnsupportedOrderType marks orders of a type no processor handles.
	ErrUnsupportedOrderType = errors.New("siteagent: no processor for this order type")
	// ErrUnauthorized is returned by Run when Waldur rejects the agent's
	// credentials: retrying cannot help, the token must be fixed.
	ErrUnauthorized = errors.New("siteagent: Waldur rejected the agent's credentials")
	// ErrInvalidConfig is wrapped by every error New returns for a bad Config.
	ErrInvalidConfig = errors.New("siteagent: invalid config")
)

// permanentError marks an error that retrying cannot fix.
type permanentError struct{ err error }

func (e *permanentError) Error() string { return e.err.Error() }
func (e *permanentError) Unwrap() error { return e.err }

// Permanent marks err as permanent: the agent does not retry the work and marks
// the order (or resource) erred in Waldur with err's message. Permanent(nil) is
// nil.
//
//	if quotaExceeded {
//		return siteagent.Result{}, siteagent.Permanent(fmt.Errorf("project quota of %d TB exceeded", quota))
//	}
func Permanent(err error) error {
	if err == nil {
		return nil
	}
	return &permanentError{err: err}
}

// Permanentf is Permanent(fmt.Errorf(format, args...)).
func Permanentf(format string, args ...any) error {
	return Permanent(fmt.Errorf(format, args...))
}

// IsPermanent reports whether err, or an error it wraps, was marked Permanent.
func IsPermanent(err error) bool {
	var p *permanentError
	return errors.As(err, &p)
}

// configError names the Config field that is wrong.
func configError(field, format string, args ...any) error {
	return fmt.Errorf("%w: %s: %s", ErrInvalidConfig, field, fmt.Sprintf(format, args...))
}
