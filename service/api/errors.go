package api

import (
	"errors"
	"fmt"
	"net/http"
)

// Error codes carried in error bodies.
const (
	CodeBadRequest   = "bad_request"
	CodeUnauthorized = "unauthorized" // no token or a wrong one
	CodeForbidden    = "forbidden"    // read token on a control route, or a browser request
	CodeNotFound     = "not_found"
	CodeConflict     = "conflict"  // the job is in a state that does not allow this
	CodeSignature    = "signature" // the torrent is unsigned or signed by an unknown key
	CodeRepository   = "repository"
	CodeIntegrity    = "integrity" // the package folder differs from its signed torrent
	CodeBusy         = "busy"      // a limit is reached (e.g. open event streams); try again later
	CodeNoRoute      = "no_route"  // no such route, or not with this method
	CodeInternal     = "internal"
)

// ErrorBody is the JSON body of every error response.
type ErrorBody struct {
	Error string `json:"error"`
	Code  string `json:"code"`
}

// Error is an error answered by the service.
type Error struct {
	Status  int
	Code    string
	Message string
}

func (e *Error) Error() string { return e.Message }

// Errorf makes an *Error with a status and code.
func Errorf(status int, code, format string, args ...any) *Error {
	return &Error{Status: status, Code: code, Message: fmt.Sprintf(format, args...)}
}

// ErrServiceDown is returned when the service cannot be reached at all.
var ErrServiceDown = errors.New("the SMSTorrent service is not running or not reachable")

// ErrNoToken is returned when no token could be found for the client.
var ErrNoToken = errors.New("no API token: run as a user who can read the service's token files")

// VersionMismatchError tells that the service speaks another API version
// (the tray and the service are upgraded at different moments).
type VersionMismatchError struct{ Service, Client string }

func (e *VersionMismatchError) Error() string {
	return fmt.Sprintf("the service speaks API version %s, this program version %s: update SMSTorrent", e.Service, e.Client)
}

func code(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return ""
}

// IsNotFound reports whether err says that a job or package does not exist.
func IsNotFound(err error) bool { return code(err) == CodeNotFound }

// IsUnauthorized reports whether the token was missing or wrong.
func IsUnauthorized(err error) bool { return code(err) == CodeUnauthorized }

// IsForbidden reports whether the token does not allow the call.
func IsForbidden(err error) bool { return code(err) == CodeForbidden }

// IsConflict reports whether the job's state does not allow the call.
func IsConflict(err error) bool { return code(err) == CodeConflict }

// IsSignature reports whether a torrent was refused for its signature.
func IsSignature(err error) bool { return code(err) == CodeSignature }

// IsIntegrity reports whether a package folder differs from its signed torrent.
func IsIntegrity(err error) bool { return code(err) == CodeIntegrity }

// IsBusy reports whether the service refused the call because a limit is reached.
func IsBusy(err error) bool { return code(err) == CodeBusy }

// IsRepository reports whether the repository could not deliver a torrent.
func IsRepository(err error) bool { return code(err) == CodeRepository }

// IsServiceDown reports whether the service could not be reached.
func IsServiceDown(err error) bool { return errors.Is(err, ErrServiceDown) }

// StatusFor maps an error code to its HTTP status.
func StatusFor(code string) int {
	switch code {
	case CodeBadRequest, CodeSignature:
		return http.StatusBadRequest
	case CodeUnauthorized:
		return http.StatusUnauthorized
	case CodeForbidden:
		return http.StatusForbidden
	case CodeNotFound:
		return http.StatusNotFound
	case CodeConflict:
		return http.StatusConflict
	case CodeRepository:
		return http.StatusBadGateway
	case CodeIntegrity:
		return http.StatusConflict
	case CodeBusy:
		return http.StatusServiceUnavailable
	}
	return http.StatusInternalServerError
}
