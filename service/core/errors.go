package core

import (
	"errors"
	"fmt"

	"github.com/smstorrent/smstorrent/service/api"
)

// Error is an error the engine returns to its callers, with a code from the
// local API's contract (api.Code...). The engine knows nothing of HTTP: the
// local API (service/localapi) maps the code to a status.
type Error struct {
	Code string // api.CodeNotFound, api.CodeBadRequest, ...
	Err  error
}

func (e *Error) Error() string { return e.Err.Error() }
func (e *Error) Unwrap() error { return e.Err }

// ErrorCode is the contract's code for the error.
func (e *Error) ErrorCode() string { return e.Code }

// errorf makes an *Error with a code.
func errorf(code, format string, args ...any) *Error {
	return &Error{Code: code, Err: fmt.Errorf(format, args...)}
}

// CodeOf returns the contract's code of an engine error, or "" if err is
// not one.
func CodeOf(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return ""
}

func notFound(id string) error {
	return errorf(api.CodeNotFound, "no job for package %q", id)
}

func badRequest(format string, args ...any) error {
	return errorf(api.CodeBadRequest, format, args...)
}

func signatureError(err error) error {
	return errorf(api.CodeSignature, "torrent refused: %v", err)
}

var errClosed = errors.New("service is shutting down")
