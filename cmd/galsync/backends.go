package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"github.com/galsync/galsync/shared/config"
	"github.com/galsync/galsync/shared/cosmos"
	"github.com/galsync/galsync/shared/embedded"
	"github.com/galsync/galsync/shared/queue"
	"github.com/galsync/galsync/shared/servicebus"
	"github.com/galsync/galsync/shared/store"
)

// queueBackend is what galsync needs of a queue: send, receive and settle
// (the local host), and peek (depths, dead-letter tools).
type queueBackend interface {
	queue.Sender
	queue.Receiver
	queue.Peeker
}

// backends are the queue and store chosen by GALSYNC_QUEUE_BACKEND and
// GALSYNC_STORE_BACKEND.
type backends struct {
	queue queueBackend
	store store.Store
	// embedded is the local file, when either backend is embedded.
	embedded *embedded.DB
	closers  []io.Closer
}

func openBackends(ctx context.Context, s config.Settings, getenv func(string) string, hc *http.Client, logger *slog.Logger) (*backends, error) {
	b := &backends{}
	if s.QueueBackend == config.QueueEmbedded || s.StoreBackend == config.StoreEmbedded {
		if err := os.MkdirAll(s.DataDir, 0o700); err != nil {
			return nil, fmt.Errorf("GALSYNC_DATA_DIR: %w", err)
		}
		db, err := embedded.Open(filepath.Join(s.DataDir, "galsync.db"), embedded.Options{
			Queues: queueOptions(s), Now: time.Now, Logger: logger,
		})
		if err != nil {
			return nil, err
		}
		b.embedded = db
		b.closers = append(b.closers, db)
	}
	switch s.QueueBackend {
	case config.QueueServiceBus:
		cfg, err := servicebus.ConfigFromEnv(getenv)
		if err != nil {
			return nil, b.fail(usageError{err})
		}
		c, err := servicebus.Open(ctx, cfg)
		if err != nil {
			return nil, b.fail(fmt.Errorf("service bus: %w", err))
		}
		b.queue = c
		b.closers = append(b.closers, c)
	default:
		b.queue = b.embedded
	}
	switch s.StoreBackend {
	case config.StoreCosmos:
		cfg, err := cosmos.ConfigFromEnv(getenv)
		if err != nil {
			return nil, b.fail(usageError{err})
		}
		// With an account key (development, the emulator) galsync creates
		// its containers; in production Terraform does, and Open checks.
		st, err := cosmos.Open(ctx, cfg, cosmos.Options{Transport: hc, LogTTL: s.LogRetention, EnsureContainers: cfg.KeyAuth()})
		if err != nil {
			return nil, b.fail(fmt.Errorf("cosmos db: %w", err))
		}
		b.store = st
		b.closers = append(b.closers, st)
	default:
		b.store = b.embedded
	}
	return b, nil
}

func (b *backends) fail(err error) error { return errors.Join(err, b.Close()) }

// Close closes every backend, last opened first.
func (b *backends) Close() error {
	var errs []error
	for i := len(b.closers) - 1; i >= 0; i-- {
		errs = append(errs, b.closers[i].Close())
	}
	b.closers = nil
	return errors.Join(errs...)
}
