// Package svc runs a complete SMSTorrent service — engine, jobs and local
// API — in one process, and holds the glue to the operating system's service
// manager (Windows service, systemd) and the rotating log file.
//
// Start is also how tests, the demo and the lab run real services in-process.
package svc

import (
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/smstorrent/smstorrent/internal/secfs"
	"github.com/smstorrent/smstorrent/internal/version"
	"github.com/smstorrent/smstorrent/service/api"
	"github.com/smstorrent/smstorrent/service/config"
	"github.com/smstorrent/smstorrent/service/core"
	"github.com/smstorrent/smstorrent/service/localapi"
)

// Version is the service's build version (internal/version, stamped by the
// Makefile from git describe).
var Version = version.Version

var _ localapi.Backend = (*core.Service)(nil)

// Options tunes Start beyond the configuration.
type Options struct {
	Logger     *slog.Logger
	Recent     *core.RecentLog
	Now        func() time.Time
	HTTPClient *http.Client
	// TickInterval overrides the progress sampling interval (tests).
	TickInterval time.Duration
	// RequestTimeout overrides how long a peer may leave requests unanswered (tests).
	RequestTimeout time.Duration
}

// Instance is a running service.
type Instance struct {
	Core         *core.Service
	Addr         string // the local API's host:port
	ServiceKey   ed25519.PublicKey
	ReadToken    string
	ControlToken string
	DataDir      string

	cancel context.CancelFunc
	done   chan struct{}
	once   sync.Once
	err    error
}

// Start opens the engine, publishes the API's address and tokens, and serves
// until Stop is called or ctx is done.
func Start(ctx context.Context, cfg config.Config, o Options) (*Instance, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	log := o.Logger
	if log == nil {
		log = slog.Default()
	}
	if o.Recent == nil {
		o.Recent = core.NewRecentLog(log.Handler(), 50)
		log = slog.New(o.Recent)
	}
	// Folders first, each with its protection (the installer made them too;
	// this repairs them). A stale address file from a crash goes before
	// anything else, so clients see "not running" rather than a squatter.
	if err := secfs.CreateDataTree(secfs.Layout{DataDir: cfg.DataDir, CacheDir: cfg.CacheDir, LogDir: cfg.LogDir}); err != nil {
		return nil, err
	}
	localapi.Unpublish(cfg.DataDir)
	pub, key, err := ed25519.GenerateKey(nil)
	if err != nil {
		return nil, err
	}
	c, err := core.New(core.Options{
		Config: cfg, Logger: log, Version: Version, Recent: o.Recent,
		Now: o.Now, HTTPClient: o.HTTPClient, TickInterval: o.TickInterval,
		RequestTimeout: o.RequestTimeout,
	})
	if err != nil {
		return nil, err
	}
	ln, err := localapi.Listen(cfg.APIListen)
	if err != nil {
		c.Close()
		return nil, fmt.Errorf("local API: %w", err)
	}
	addr := ln.Addr().String()
	read, control, err := localapi.Publish(cfg.DataDir, addr, pub)
	if err != nil {
		ln.Close()
		c.Close()
		return nil, err
	}
	ctx, cancel := context.WithCancel(ctx)
	in := &Instance{Core: c, Addr: addr, ServiceKey: pub, ReadToken: read, ControlToken: control, DataDir: cfg.DataDir, cancel: cancel, done: make(chan struct{})}
	srv := &localapi.Server{Backend: c, Key: key, ReadToken: read, ControlToken: control, Version: Version, Logger: log, Metrics: cfg.Metrics}
	// The engine and the local API run under one context: when either ends
	// (an error, or Stop), the other is stopped too, and both errors reach
	// Stop and Err.
	var wg sync.WaitGroup
	wg.Add(2)
	var apiErr, coreErr error
	go func() {
		defer wg.Done()
		apiErr = srv.Serve(ctx, ln)
		if apiErr != nil && !errors.Is(apiErr, http.ErrServerClosed) {
			apiErr = fmt.Errorf("local API: %w", apiErr)
		} else {
			apiErr = nil
		}
		cancel()
	}()
	go func() {
		defer wg.Done()
		coreErr = c.Serve(ctx)
		cancel()
	}()
	go func() {
		wg.Wait()
		localapi.Unpublish(cfg.DataDir)
		in.err = errors.Join(apiErr, coreErr)
		close(in.done)
	}()
	log.Info("local API listening", "addr", addr)
	return in, nil
}

// StopTimeout bounds Stop: systemd gives the service 20 s (TimeoutStopSec)
// and the Windows service manager about as long before it kills it.
var StopTimeout = 15 * time.Second

// Stop shuts the service down and waits for it, at most StopTimeout.
func (in *Instance) Stop() error {
	in.once.Do(in.cancel)
	select {
	case <-in.done:
		return in.err
	case <-time.After(StopTimeout):
		return fmt.Errorf("the service did not stop within %v", StopTimeout)
	}
}

// Err is why the service stopped (nil for a clean stop); valid once Done is
// closed.
func (in *Instance) Err() error {
	select {
	case <-in.done:
		return in.err
	default:
		return nil
	}
}

// Done is closed when the service has stopped.
func (in *Instance) Done() <-chan struct{} { return in.done }

// Client returns an API client with the control token (or the read token).
func (in *Instance) Client(control bool) *api.Client {
	tok := in.ReadToken
	if control {
		tok = in.ControlToken
	}
	return &api.Client{BaseURL: "http://" + in.Addr, ServiceKey: in.ServiceKey, Token: tok, DataDir: in.DataDir}
}
