// Package integration holds only tests: the tray's and the window's
// view-models (app/tray, ui/viewmodel) driven by the real api.Client against
// real services, tracker and repository running in-process on loopback
// (internal/testbed). Production code in app and ui imports only the API
// contract; these tests are the one place that starts the engine.
package integration
